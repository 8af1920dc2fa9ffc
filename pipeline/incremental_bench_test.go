package pipeline_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// BenchmarkIncremental measures what a day's run costs on a database that only grows:
// the same ten new records per flow, on a small and a large exported database, through
// all six flows and for one record (--id), into DuckDB and into PostgreSQL; a backfill
// month by month against one run over the same data; and watch: how soon a new supplier
// site is a vendor account, and the watcher's CPU while nothing changes. It prints
//
//	bench incremental <store> <case> small=<s>s large=<s>s ratio=<x>
//
// per case (medians of BENCH_ROUNDS, default 3). The exported database's history is
// exported completely: the generator's deliberately invalid and waiting records are
// removed after the export, as an accounting team would have corrected them; records in
// Export Error or waiting are re-evaluated by every run and cost in proportion to their
// number, which the watch case keeps some of. Sizes: BENCH_SMALL (10,000 invoices),
// BENCH_LARGE (1,000,000, about 10M lines), BENCH_PG_LARGE (200,000), BENCH_BACKFILL
// (100,000). make bench-incremental runs it.
func BenchmarkIncremental(b *testing.B) {
	size := func(env string, def int) int {
		if v, err := strconv.Atoi(os.Getenv(env)); err == nil && v > 0 {
			return v
		}
		return def
	}
	small, large, pgLarge, backfill := size("BENCH_SMALL", 10000), size("BENCH_LARGE", 1000000), size("BENCH_PG_LARGE", 200000), size("BENCH_BACKFILL", 100000)
	rounds := size("BENCH_ROUNDS", 3)
	dir := b.TempDir()
	bin := buildCLI(b, dir)
	cfg := filepath.Join(dir, "demo.yaml")
	writeConfig(b, cfg, "")
	set, err := pipeline.LoadSpecs("")
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		dbs := map[int]string{}
		for _, n := range []int{small, large} {
			dbs[n] = exportedDB(b, bin, cfg, dir, n, true)
		}
		measure := func(store string, target func(n int) string, sizes [2]int) {
			for _, c := range []string{"all-flows", "id"} {
				var took [2]time.Duration
				for k, n := range sizes {
					var times []time.Duration
					for r := 0; r < rounds; r++ {
						tag := fmt.Sprintf("%s%s%d%d", store[:1], c[:1], n, r)
						addRecords(b, target(n), set, tag)
						args := []string{"run", "--config", cfg, "--db", target(n)}
						if c == "id" {
							args = append(args, "--flow", "sales-invoices", "--id", "N"+tag+"-"+firstNew(b, target(n), tag))
						}
						times = append(times, runCLI(b, bin, args...).took)
					}
					took[k] = median(times)
				}
				fmt.Printf("bench incremental %s %s small=%.3fs large=%.3fs ratio=%.2f (invoices %d and %d)\n",
					store, c, took[0].Seconds(), took[1].Seconds(), took[1].Seconds()/took[0].Seconds(), sizes[0], sizes[1])
			}
		}
		measure("duckdb", func(n int) string { return dbs[n] }, [2]int{small, large})
		watchLatency(b, bin, cfg, dir, "duckdb", exportedDB(b, bin, cfg, dir, large, false))

		if os.Getenv("TEST_POSTGRES_URL") == "" {
			fmt.Println("bench incremental postgres skipped: set TEST_POSTGRES_URL (eval \"$(.ci/postgres start)\")")
		} else {
			pgs := map[int]string{}
			for _, n := range []int{small, pgLarge} {
				src := dbs[n]
				if src == "" {
					src = exportedDB(b, bin, cfg, dir, n, true)
				}
				pgs[n] = postgresURL(b)
				fixture.LoadPostgres(b, pgs[n], src, "oim", "acct")
				if r := runCLI(b, bin, "init", "--db", pgs[n]); r.took == 0 {
					b.Fatal("init")
				}
				analyze(b, pgs[n])
			}
			measure("postgres", func(n int) string { return pgs[n] }, [2]int{small, pgLarge})
			watchLatency(b, bin, cfg, dir, "postgres", pgs[pgLarge])
		}

		gen := fixture.Generated(b, dir, backfill)
		one := fixture.Copy(b, gen, filepath.Join(dir, "one.duckdb"))
		months := fixture.Copy(b, gen, filepath.Join(dir, "months.duckdb"))
		run := runCLI(b, bin, "run", "--config", cfg, "--db", one)
		bf := runCLI(b, bin, "backfill", "--config", cfg, "--db", months, "--from", "2024-01-01", "--to", "2026-12-31", "--partition", "month")
		fmt.Printf("bench incremental duckdb backfill run=%.2fs backfill=%.2fs ratio=%.2f (invoices %d, month partitions)\n",
			run.took.Seconds(), bf.took.Seconds(), bf.took.Seconds()/run.took.Seconds(), backfill)
	}
}

func median(ds []time.Duration) time.Duration {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}

func writeConfig(b testing.TB, path, extra string) {
	b.Helper()
	text := fmt.Sprintf(`settings:
  default_company: %s
  auto_post: {sales_invoices: true, sales_credit_notes: true, payable_invoices: true, payable_credit_notes: true, journals: true}
%s`, benchCompany, extra)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		b.Fatal(err)
	}
}

// exportedDB generates n invoices (and the other flows' records), exports them with the
// CLI and, when clean, removes every record the export left behind (invalid, waiting,
// not selected), so the history is exported completely.
func exportedDB(b testing.TB, bin, cfg, dir string, n int, clean bool) string {
	b.Helper()
	start := time.Now()
	path := filepath.Join(dir, fmt.Sprintf("exported-%d-%v.duckdb", n, clean))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	gen := fixture.Generated(b, dir, n)
	fixture.Copy(b, gen, path)
	os.Remove(gen)
	runCLI(b, bin, "run", "--config", cfg, "--db", path)
	if clean {
		db, err := sql.Open("duckdb", path)
		if err != nil {
			b.Fatal(err)
		}
		for _, f := range sources(b) {
			if f.lines != "" {
				exec1(b, db, fmt.Sprintf("DELETE FROM %s WHERE %s IN (SELECT id FROM %s WHERE export_status <> 'Exported')", f.lines, f.parent, f.table))
			}
			if f.tracked {
				exec1(b, db, fmt.Sprintf("DELETE FROM %s WHERE export_status <> 'Exported'", f.table))
			}
		}
		exec1(b, db, "CHECKPOINT")
		db.Close()
	}
	fmt.Printf("prepared %s: %d invoices exported in %s\n", filepath.Base(path), n, time.Since(start).Round(time.Second))
	return path
}

func exec1(b testing.TB, db *sql.DB, q string) {
	b.Helper()
	if _, err := db.Exec(q); err != nil {
		b.Fatalf("%s: %v", q, err)
	}
}

// source is one flow's source tables and the columns a new record gets anew.
type source struct {
	table, lines, parent string
	tracked              bool
	links, lineLinks     []string // write-back columns, emptied on a new record
}

func sources(b testing.TB) []source {
	b.Helper()
	set, err := pipeline.LoadSpecs("")
	if err != nil {
		b.Fatal(err)
	}
	return sourcesOf(set)
}

func sourcesOf(set *spec.Set) []source {
	var out []source
	for _, f := range set.Ordered() {
		s := source{table: f.Source.Table, tracked: f.Source.Status != "none"}
		if l := f.Document.WriteBack.Link; l != "" {
			s.links = append(s.links, l)
		}
		if f.Source.Lines != nil {
			s.lines, s.parent = f.Source.Lines.Table, f.Source.Lines.Parent
			for _, k := range f.Document.Lines {
				if k.WriteBack.Link != "" {
					s.lineLinks = append(s.lineLinks, k.WriteBack.Link)
				}
			}
		}
		out = append(out, s)
	}
	return out
}

// addRecords adds ten new records to every flow's source, as OIM would: copies of
// exported ones under new ids (N<tag>-<id>), New, without links; their lines too. The
// SQL runs on DuckDB and PostgreSQL alike.
func addRecords(b testing.TB, target string, set *spec.Set, tag string) {
	b.Helper()
	var stmts []string
	for _, s := range sourcesOf(set) {
		pick := fmt.Sprintf("SELECT id FROM %s WHERE %s ORDER BY md5(CAST(id AS VARCHAR)) LIMIT 10", s.table, map[bool]string{true: "export_status = 'Exported'", false: "account_id IS NOT NULL"}[s.tracked])
		repl := map[string]string{"id": fmt.Sprintf("'N%s-' || id", tag)}
		if s.tracked {
			repl["export_status"], repl["export_error"] = "'New'", "NULL"
		}
		for _, l := range s.links {
			repl[l] = "NULL"
		}
		if !s.tracked {
			repl["account_id"] = "NULL"
		}
		stmts = append(stmts, clone(b, target, s.table, repl, "id IN ("+pick+")"))
		if s.lines != "" {
			lr := map[string]string{"id": fmt.Sprintf("'N%s-' || id", tag), s.parent: fmt.Sprintf("'N%s-' || %s", tag, s.parent)}
			for _, l := range s.lineLinks {
				lr[l] = "NULL"
			}
			stmts = append(stmts, clone(b, target, s.lines, lr, s.parent+" IN ("+pick+")"))
		}
	}
	execOn(b, target, strings.Join(stmts, ";\n"))
}

// clone is an INSERT copying a table's rows that where selects, with some columns
// replaced.
func clone(b testing.TB, target, table string, repl map[string]string, where string) string {
	b.Helper()
	cols := columnsOf(b, target, table)
	exprs := make([]string, len(cols))
	for i, c := range cols {
		exprs[i] = c
		if r, ok := repl[c]; ok {
			exprs[i] = r
		}
	}
	return fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s WHERE %s", table, strings.Join(cols, ", "), strings.Join(exprs, ", "), table, where)
}

var columnCache = map[string][]string{}

func columnsOf(b testing.TB, target, table string) []string {
	b.Helper()
	if c, ok := columnCache[target+table]; ok {
		return c
	}
	schema, name, _ := strings.Cut(table, ".")
	q := fmt.Sprintf("SELECT column_name FROM information_schema.columns WHERE table_schema = '%s' AND table_name = '%s' ORDER BY ordinal_position", schema, name)
	var cols []string
	queryOn(b, target, q, func(v string) { cols = append(cols, v) })
	columnCache[target+table] = cols
	return cols
}

// firstNew is the first new invoice of a tag (its id without the prefix).
func firstNew(b testing.TB, target, tag string) string {
	b.Helper()
	var id string
	queryOn(b, target, fmt.Sprintf("SELECT min(id) FROM oim.invoice WHERE id LIKE 'N%s-%%'", tag), func(v string) { id = v })
	if id == "" {
		b.Fatalf("no new invoice %s in %s", tag, target)
	}
	return strings.TrimPrefix(id, "N"+tag+"-")
}

// execOn runs statements on a DuckDB file or a PostgreSQL database.
func execOn(b testing.TB, target, stmts string) {
	b.Helper()
	if err := tryExec(target, stmts); err != nil {
		b.Fatalf("%v\n%s", err, stmts)
	}
}

// queryOn reads one text column of a query on a DuckDB file or a PostgreSQL database.
func queryOn(b testing.TB, target, q string, each func(string)) {
	b.Helper()
	ctx := context.Background()
	if postgres.IsURL(target) {
		c, err := postgres.Connect(ctx, target)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close(ctx)
		rows, err := c.Query(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var v sql.NullString
			rows.Scan(&v)
			each(v.String)
		}
		return
	}
	db, err := sql.Open("duckdb", target)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(q)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var v sql.NullString
		rows.Scan(&v)
		each(v.String)
	}
}

func analyze(b testing.TB, url string) {
	b.Helper()
	execOn(b, url, "ANALYZE")
}

// watchLatency starts watch on the database (every flow automated, the exported
// history's failures left in it), inserts a supplier site 20 times, as OIM would,
// and reads from watch's log when its vendor account was committed; then measures the
// watcher's CPU over ten idle seconds.
func watchLatency(b testing.TB, bin, cfg, dir, store, db string) {
	b.Helper()
	wcfg := filepath.Join(dir, "watch.yaml")
	writeConfig(b, wcfg, "log: {format: json}\n")
	cmd := exec.Command(bin, "watch", "--config", wcfg, "--db", db)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	exported := make(chan time.Time, 64)
	firstPoll := make(chan struct{})
	var lastFlow atomic.Int64 // when the latest "flow done" line was read (unix ns)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		polled := false
		for sc.Scan() {
			var l struct {
				Time     time.Time `json:"time"`
				Msg      string    `json:"msg"`
				Flow     string    `json:"flow"`
				Exported int64     `json:"exported"`
			}
			if json.Unmarshal(sc.Bytes(), &l) != nil || l.Msg != "flow done" {
				continue
			}
			lastFlow.Store(time.Now().UnixNano())
			if l.Flow == "journals" && !polled {
				polled = true
				close(firstPoll)
			}
			if polled && l.Flow == "vendor-accounts" && l.Exported > 0 {
				exported <- l.Time
			}
		}
	}()
	select {
	case <-firstPoll:
	case <-time.After(10 * time.Minute):
		b.Fatal("watch's first poll did not end")
	}
	var lat []time.Duration
	for i := 0; i < 20; i++ {
		time.Sleep(300 * time.Millisecond)
		stmt := fmt.Sprintf(`INSERT INTO oim.supplier_site (id, name, updated_at) VALUES ('SS-W%d-%d', 'Watched Supplier %d', CURRENT_TIMESTAMP)`, time.Now().UnixNano(), i, i)
		var at time.Time
		for {
			err := tryExec(db, stmt)
			at = time.Now()
			if err == nil {
				break
			}
			if !strings.Contains(err.Error(), "lock") {
				b.Fatal(err)
			}
			time.Sleep(5 * time.Millisecond)
		}
		select {
		case done := <-exported:
			lat = append(lat, done.Sub(at))
		case <-time.After(30 * time.Second):
			b.Fatalf("watch did not export supplier site %d", i)
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	// Idle means after the last change's run: the vendor account is the first flow of
	// it, and the others re-evaluate their waiting records after it. Wait for a quiet
	// two seconds (at most a minute), then measure.
	for quiet := time.Now().Add(time.Minute); time.Now().Before(quiet); time.Sleep(100 * time.Millisecond) {
		if time.Since(time.Unix(0, lastFlow.Load())) > 2*time.Second {
			break
		}
	}
	cpu0, wall0 := cpuTime(b, cmd.Process.Pid), time.Now()
	time.Sleep(10 * time.Second)
	idle := (cpuTime(b, cmd.Process.Pid) - cpu0).Seconds() / time.Since(wall0).Seconds() * 100
	fmt.Printf("bench incremental %s watch p50=%.3fs p99=%.3fs max=%.3fs idle_cpu=%.1f%% (supplier site -> vendor account, 20 tries, every flow automated)\n",
		store, lat[len(lat)/2].Seconds(), lat[len(lat)*99/100].Seconds(), lat[len(lat)-1].Seconds(), idle)
}

// tryExec runs statements on a DuckDB file or a PostgreSQL database, once.
func tryExec(target, stmt string) error {
	if postgres.IsURL(target) {
		ctx := context.Background()
		c, err := postgres.Connect(ctx, target)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		_, err = c.Exec(ctx, stmt)
		return err
	}
	db, err := sql.Open("duckdb", target)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec(stmt)
	return err
}

// cpuTime is a process's user and system CPU time so far.
func cpuTime(b testing.TB, pid int) time.Duration {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // clock ticks of 1/100 s
}
