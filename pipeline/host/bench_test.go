package host_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/host"
	"github.com/oimconnect/oimconnect/pipeline/plan"
	"github.com/oimconnect/oimconnect/pipeline/spec"
	"github.com/oimconnect/oimconnect/plugins/examples/regiondims/regions"
)

// The benchmark's tenant: the demo's first three customers have a region of their
// own, the others get one of the ten Dimension 3 values by account number.
var benchRegions = map[string]string{"ACC-C-0001": "DIM3-010", "ACC-C-0002": "DIM3-009", "ACC-C-0003": "DIM3-008"}

var benchDims = []string{"DIM3-001", "DIM3-002", "DIM3-003", "DIM3-004", "DIM3-005", "DIM3-006", "DIM3-007", "DIM3-008", "DIM3-009", "DIM3-010"}

const benchFormat = "{line}. {description} [{item}] {quantity} x {unit_price} ({region}, {invoice})"

func benchSettings() map[string]any {
	r := map[string]any{}
	for k, v := range benchRegions {
		r[k] = v
	}
	d := make([]any, len(benchDims))
	for i, v := range benchDims {
		d[i] = v
	}
	return map[string]any{"regions": r, "region_dimensions": d, "description": benchFormat}
}

// sqlRegions is the same change as the regiondims plugin made in process, the way a
// built-in transform would: one UPDATE of the staged lines (for benchFormat only).
type sqlRegions struct{}

func (r sqlRegions) Transform(ctx context.Context, x catalog.Execer, _ *sql.Conn, p *plan.Plan) (plan.Leftovers, error) {
	return plan.Leftovers{}, r.update(ctx, x, p)
}

func (sqlRegions) update(ctx context.Context, tx catalog.Execer, p *plan.Plan) error {
	var docs, lines string
	for _, o := range p.Outputs {
		switch o.Target.FullName() {
		case regions.Invoices:
			docs = o.Temp
		case regions.Lines:
			lines = o.Temp
		}
	}
	if docs == "" || lines == "" {
		return nil
	}
	var mapped []string
	for k, v := range benchRegions {
		mapped = append(mapped, fmt.Sprintf("(%s, %s)", catalog.Literal(k), catalog.Literal(v)))
	}
	var dims []string
	for _, d := range benchDims {
		dims = append(dims, catalog.Literal(d))
	}
	// The regions per record first: DuckDB plans an UPDATE joined to this query badly.
	regionsTable := strings.TrimSuffix(p.Bad, "bad") + "regions"
	q := fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %[1]s AS SELECT h._hkey, h.oim_invoice_id, coalesce(m.region,
			[%[2]s][CAST(TRY_CAST(regexp_extract(h.account_id, '(\d+)$', 1) AS UBIGINT) %% %[3]d AS BIGINT) + 1]) AS region
		FROM (SELECT _hkey, any_value(account_id) AS account_id, any_value(oim_invoice_id) AS oim_invoice_id FROM %[4]s
			WHERE _hkey NOT IN (SELECT _hkey FROM %[5]s) GROUP BY 1) h
		LEFT JOIN (VALUES %[6]s) m(account, region) ON m.account = h.account_id`,
		regionsTable, strings.Join(dims, ", "), len(benchDims), docs, p.Bad, strings.Join(mapped, ", "))
	if _, err := tx.ExecContext(ctx, q); err != nil {
		return err
	}
	defer tx.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+regionsTable)
	region := fmt.Sprintf("coalesce(r.region, %s.dimension3_id)", lines)
	q = fmt.Sprintf(`UPDATE %[1]s SET dimension3_id = %[2]s,
		line_description = concat(coalesce(CAST(%[1]s.line_number AS VARCHAR), ''), '. ', coalesce(%[1]s.line_description, ''),
			' [', coalesce(%[1]s.item_id, ''), '] ', coalesce(CAST(%[1]s.quantity AS VARCHAR), ''), ' x ',
			coalesce(CAST(%[1]s.unit_price AS VARCHAR), ''), ' (', coalesce(r.region, ''), ', ', r.oim_invoice_id, ')')
		FROM %[3]s r WHERE %[1]s._hkey = r._hkey`, lines, region, regionsTable)
	_, err := tx.ExecContext(ctx, q)
	return err
}

// timed measures a transform's own time.
type timed struct {
	t      pipeline.Transformer
	d, cpu time.Duration // wall and this process's CPU time
}

func (t *timed) Transform(ctx context.Context, x catalog.Execer, conn *sql.Conn, p *plan.Plan) (plan.Leftovers, error) {
	start, cpu := time.Now(), selfCPU()
	defer func() { t.d, t.cpu = t.d+time.Since(start), t.cpu+selfCPU()-cpu }()
	return t.t.Transform(ctx, x, conn, p)
}

// exported is what one run of exportWith measured.
type exported struct {
	sum        pipeline.Summary
	run, stage time.Duration
	// host and plugins are peak resident memory (VmHWM) during the run, in bytes: this
	// process's (from a reset at the start of the run) and its plugin processes' summed.
	host, plugins int64
	// hostCPU and pluginCPU are the CPU time this process and its plugin processes
	// spent in the run (user and system).
	hostCPU, pluginCPU time.Duration
	// stageCPU is this process's CPU time in the transform.
	stageCPU time.Duration
}

// exportWith runs the sales-invoices flow on the file at path with the transform made
// by mk (given the engine's specs), and returns the summary, the run's time and the
// transform's own.
func exportWith(t testing.TB, path string, mk func(*spec.Set) pipeline.Transformer) (pipeline.Summary, time.Duration, time.Duration) {
	t.Helper()
	x := exportMeasured(t, path, mk)
	return x.sum, x.run, x.stage
}

// exportMeasured is exportWith, measuring peak memory too.
func exportMeasured(t testing.TB, path string, mk func(*spec.Set) pipeline.Transformer) exported {
	t.Helper()
	cfg, err := config.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DB = path
	cfg.Settings.DefaultCompany = "Acme UK Ltd"
	cfg.Settings.SalesInvoiceLineLimit = 1000
	set, err := pipeline.LoadSpecs("")
	if err != nil {
		t.Fatal(err)
	}
	tr := &timed{t: mk(set)}
	e, err := pipeline.Open(context.Background(), cfg, benchLog(), pipeline.WithSpecs(set), pipeline.WithTransform(tr))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	runtime.GC()
	debug.FreeOSMemory()
	resetPeak()
	cpu0 := selfCPU()
	start := time.Now()
	sums, err := e.Run(context.Background(), pipeline.Request{Flows: []string{"sales-invoices"}})
	if err != nil {
		t.Fatal(err)
	}
	d := time.Since(start)
	x := exported{sum: sums[0], run: d, stage: tr.d, stageCPU: tr.cpu, host: peak("self"), hostCPU: selfCPU() - cpu0}
	x.plugins, x.pluginCPU = childUsage()
	if c, ok := tr.t.(interface{ Close() error }); ok {
		c.Close()
	}
	return x
}

// resetPeak resets this process's peak resident memory (Linux: clear_refs 5).
func resetPeak() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peak is a process's peak resident memory (VmHWM) in bytes, 0 when unknown.
func peak(pid string) int64 {
	data, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// childUsage sums the peak resident memory and the CPU time of this process's running
// children (the plugins).
func childUsage() (mem int64, cpu time.Duration) {
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	me := strconv.Itoa(os.Getpid())
	for _, d := range dirs {
		data, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... utime (14th field) stime (15th)
		s := string(data)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 12 && f[1] == me {
			mem += peak(filepath.Base(filepath.Dir(d)))
			u, _ := strconv.ParseInt(f[11], 10, 64)
			st, _ := strconv.ParseInt(f[12], 10, 64)
			cpu += time.Duration(u+st) * time.Second / 100 // clock ticks (USER_HZ 100)
		}
	}
	return mem, cpu
}

// selfCPU is the CPU time this process has spent (user and system).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchLog is the benchmark's log: quiet, or every step's timing on standard error
// with BENCH_LOG=debug.
func benchLog() *slog.Logger {
	if os.Getenv("BENCH_LOG") == "debug" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return quiet
}

func throughPlugin(t testing.TB, batch int) func(*spec.Set) pipeline.Transformer {
	return func(set *spec.Set) pipeline.Transformer {
		p := declare(t, "region-dims", "regiondims", benchSettings())
		p.BatchSize = batch
		h, err := host.New([]config.Plugin{p}, set, benchLog())
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
}

func inProcessSQL(*spec.Set) pipeline.Transformer { return sqlRegions{} }

func inProcessSDK(batch int) func(*spec.Set) pipeline.Transformer {
	return func(set *spec.Set) pipeline.Transformer {
		return host.NewInProcess(set, benchLog(), host.InProcess{Name: "region-dims", Flows: []string{"sales-invoices"},
			Settings: benchSettings(), BatchSize: batch, Impl: regions.Transform{}})
	}
}

var written = []string{
	fixture.Table("acct.sales_invoice"),
	fixture.Table("acct.sales_invoice_line_item"),
	"SELECT id, export_status, export_error, sales_invoice_id FROM oim.invoice ORDER BY id",
}

// The plugin (in batches of 500 rows) and the in-process SQL make the very same
// documents on generated data; so does the plugin's transform run in process.
func TestPluginMatchesInProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := fixture.Generated(t, dir, 400)
	a := fixture.Copy(t, src, filepath.Join(dir, "a.duckdb"))
	b := fixture.Copy(t, src, filepath.Join(dir, "b.duckdb"))
	c := fixture.Copy(t, src, filepath.Join(dir, "c.duckdb"))
	s, _, _ := exportWith(t, a, throughPlugin(t, 500))
	exportWith(t, b, inProcessSQL)
	exportWith(t, c, inProcessSDK(500))
	if s.Lines < 1000 || s.Errors == 0 {
		t.Fatalf("the generated data should make more lines than a batch and hold invalid records: %v", s)
	}
	got, want, sdk := fixture.DumpFile(t, a, written...), fixture.DumpFile(t, b, written...), fixture.DumpFile(t, c, written...)
	if !strings.Contains(got, "DIM3-010") || !strings.Contains(got, "] 1.0000 x ") {
		t.Errorf("the plugin's regions and descriptions are missing")
	}
	for name, other := range map[string]string{"in-process SQL": want, "in-process transform": sdk} {
		if got == other {
			continue
		}
		gl, ol := strings.Split(got, "\n"), strings.Split(other, "\n")
		for i := range gl {
			if i >= len(ol) || gl[i] != ol[i] {
				t.Fatalf("plugin and %s differ at line %d:\nplugin: %s\nother:  %s", name, i+1, gl[i], ol[min(i, len(ol)-1)])
			}
		}
		t.Fatalf("plugin output is shorter than the %s's", name)
	}
}

// BenchmarkPluginSalesInvoices runs the sales-invoices flow end to end through the
// regiondims plugin and with the same change made in process by SQL, on copies of the
// same generated data in the same run, and reports both times, their ratio and the
// plugin stage's own cost per line. BENCH_INVOICES sets the size (default 120000
// invoices, about 1.1M lines); BENCH_PLUGIN_BATCH the plugin's batch size (default
// 50000); BENCH_ROUNDS runs both that many times, alternating, and reports medians
// (identical runs vary up to 2x on a shared machine); BENCH_PLUGIN_SDK=1 adds a run
// with the plugin's transform in process (no gRPC, no IPC), to split the overhead;
// BENCH_LOG=debug logs every step's timing.
func BenchmarkPluginSalesInvoices(b *testing.B) {
	n := 120000
	if v, err := strconv.Atoi(os.Getenv("BENCH_INVOICES")); err == nil && v > 0 {
		n = v
	}
	batch := config.DefaultPluginBatchSize
	if v, err := strconv.Atoi(os.Getenv("BENCH_PLUGIN_BATCH")); err == nil && v > 0 {
		batch = v
	}
	rounds := 1
	if v, err := strconv.Atoi(os.Getenv("BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	sdk := os.Getenv("BENCH_PLUGIN_SDK") == "1"
	dir := b.TempDir()
	src := fixture.Generated(b, dir, n)
	var plug, in, stage, inStage, sdkRun, sdkStage []time.Duration
	var plugHost, plugPlugin, inHost []int64
	var plugCPU, plugPluginCPU, inCPU, plugStageCPU, inStageCPU []time.Duration
	var lines int64
	run := func(name string, mk func(*spec.Set) pipeline.Transformer, runs, stages *[]time.Duration) exported {
		b.StopTimer()
		path := fixture.Copy(b, src, filepath.Join(dir, name+".duckdb"))
		b.StartTimer()
		x := exportMeasured(b, path, mk)
		*runs, *stages, lines = append(*runs, x.run), append(*stages, x.stage), x.sum.Lines
		return x
	}
	for i := 0; i < b.N*rounds; i++ {
		x := run("plugin", throughPlugin(b, batch), &plug, &stage)
		plugHost, plugPlugin = append(plugHost, x.host), append(plugPlugin, x.plugins)
		plugCPU, plugPluginCPU = append(plugCPU, x.hostCPU), append(plugPluginCPU, x.pluginCPU)
		plugStageCPU = append(plugStageCPU, x.stageCPU)
		x = run("inprocess", inProcessSQL, &in, &inStage)
		inHost, inCPU, inStageCPU = append(inHost, x.host), append(inCPU, x.hostCPU), append(inStageCPU, x.stageCPU)
		if sdk {
			run("sdk", inProcessSDK(batch), &sdkRun, &sdkStage)
		}
	}
	med := func(ds []time.Duration) time.Duration {
		ds = slices.Clone(ds)
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	usPerLine := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(lines) }
	ratio := float64(med(plug)) / float64(med(in))
	b.ReportMetric(med(plug).Seconds(), "plugin-s")
	b.ReportMetric(med(in).Seconds(), "inprocess-s")
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(usPerLine(med(stage)), "stage-us/line")
	b.ReportMetric(usPerLine(med(inStage)), "inprocess-stage-us/line")
	b.ReportMetric(float64(lines), "lines")
	b.Logf("batch_size=%d rounds=%d: plugin runs %v (stage %v), in-process SQL runs %v (stage %v)", batch, len(plug), plug, stage, in, inStage)
	b.Logf("CPU time: plugin runs: host %v (stage %v), plugin %v; in-process SQL runs %v (stage %v)", plugCPU, plugStageCPU, plugPluginCPU, inCPU, inStageCPU)
	if sdk {
		b.ReportMetric(usPerLine(med(sdkStage)), "sdk-stage-us/line")
		b.Logf("plugin transform in process: runs %v, stage %v (%.2f µs/line)", sdkRun, sdkStage, usPerLine(med(sdkStage)))
	}
	fmt.Printf("bench plugin lines=%d plugin=%.2fs inprocess=%.2fs ratio=%.2f stage_us_per_line=%.2f\n",
		lines, med(plug).Seconds(), med(in).Seconds(), ratio, usPerLine(med(stage)))
	mib := func(v []int64) string { return fmt.Sprintf("%d MiB", slices.Max(v)>>20) }
	fmt.Printf("bench plugin peak RSS: host %s + plugin %s (in-process run: host %s)\n", mib(plugHost), mib(plugPlugin), mib(inHost))
}
