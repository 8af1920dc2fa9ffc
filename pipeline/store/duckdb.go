package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	_ "github.com/marcboeker/go-duckdb" // the embedded DuckDB driver

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// openFile opens an existing DuckDB file for a run: refused names, a file held by
// another process (fault.BusyError) and a file that cannot be written are told apart,
// and the write-ahead log is folded into the file first (see checkpoint), unless the
// run only reads (readOnly): it leaves the file and its log as they are.
func openFile(ctx context.Context, path string, readOnly bool) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fault.Inputf("database %s: %v", path, errors.Unwrap(err))
	}
	if err := CheckFileName(path); err != nil {
		return nil, err
	}
	db, err := sql.Open("duckdb", path)
	if err != nil {
		return nil, opened(path, err)
	}
	if err := opened(path, db.PingContext(ctx)); err != nil {
		db.Close()
		return nil, err
	}
	if !readOnly && needsCheckpoint(path) {
		if err := checkpoint(ctx, db, ""); err != nil {
			db.Close()
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
	}
	return db, nil
}

// Create opens a DuckDB file for init, generate and demo, creating it when missing,
// and refusing a name that clashes with a schema. One held by another process is a
// fault.BusyError; a directory, a missing directory, or a file that is no DuckDB
// database, a mistake in what was asked.
func Create(ctx context.Context, path string) (*sql.DB, error) {
	if err := CheckFileName(path); err != nil {
		return nil, err
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, fault.Inputf("%s is a directory, not a DuckDB file", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return nil, fault.Inputf("database %s: directory %s does not exist", path, dir)
		}
	}
	db, err := sql.Open("duckdb", path)
	if err != nil {
		return nil, opened(path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, opened(path, err)
	}
	return db, nil
}

var pidRE = regexp.MustCompile(`\(PID (\d+)\)`)

// opened names an error opening a DuckDB file: a BusyError when another process holds it.
func opened(path string, err error) error {
	if err == nil {
		return nil
	}
	if Busy(err) {
		b := &fault.BusyError{Path: path, Err: err}
		if m := pidRE.FindStringSubmatch(err.Error()); m != nil {
			b.PID = m[1]
		}
		return b
	}
	if strings.Contains(err.Error(), "not a valid DuckDB database file") {
		return fault.Inputf("%s is not a DuckDB database file", path)
	}
	if denied(err) {
		why := firstParagraph(err.Error())
		if i := strings.Index(why, "IO Error: "); i >= 0 {
			why = why[i+len("IO Error: "):]
		}
		return fault.Inputf("database %s cannot be written (%s): give the user running oimconnect write access to it and its directory; nothing was written", path, why)
	}
	return fmt.Errorf("open %s: %w", path, err)
}

// Busy says a DuckDB file is held by another process (OIM writing to it, another run).
func Busy(err error) bool {
	var b *fault.BusyError
	if errors.As(err, &b) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "Could not set lock") || strings.Contains(msg, "Conflicting lock")
}

// denied reports whether an error is the operating system refusing to write a file.
func denied(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "Permission denied") || strings.Contains(msg, "Operation not permitted") || strings.Contains(msg, "Read-only file system")
}

// checkpoint folds a DuckDB file's write-ahead log into the file before anything is
// written. After a crash the log may end in a torn entry; DuckDB 1.1 (go-duckdb v1.8)
// replays up to it but then appends after it, so a second crash would lose the commits
// made in between, or leave a log that no longer opens (fixed in DuckDB 1.2). A
// checkpoint at open truncates the log, so the run starts from a clean one; files a run
// of ours closed cleanly since anybody else wrote them need none (see state.go).
func checkpoint(ctx context.Context, db *sql.DB, database string) error {
	q := "CHECKPOINT"
	if database != "" {
		q += " " + catalog.Ident(database)
	}
	if _, err := db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// CheckFileName refuses DuckDB files named oim.*, acct.* or connector.*: DuckDB names
// the database after the file, and a database called oim makes "oim.invoice" ambiguous.
func CheckFileName(path string) error {
	base := strings.ToLower(filepath.Base(path))
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	if base == "oim" || base == "acct" || base == "connector" {
		return fault.Inputf("database file %s: DuckDB names the database after the file, and %q clashes with the schema of that name; rename the file (e.g. oimconnect.duckdb)", path, base)
	}
	return nil
}

// tune applies the configured DuckDB resource limits to the working database.
func tune(ctx context.Context, db *sql.DB, d config.DuckDB) error {
	set := map[string]string{}
	if d.MemoryLimit != "" {
		set["memory_limit"] = catalog.Literal(d.MemoryLimit)
	}
	if d.TempDirectory != "" {
		set["temp_directory"] = catalog.Literal(d.TempDirectory)
	}
	if d.Threads > 0 {
		set["threads"] = fmt.Sprint(d.Threads)
	}
	if d.CheckpointThreshold != "" {
		set["checkpoint_threshold"] = catalog.Literal(d.CheckpointThreshold)
	}
	for _, k := range spec.SortedKeys(set) {
		if _, err := db.ExecContext(ctx, "SET "+k+" = "+set[k]); err != nil {
			return fault.Inputf("duckdb.%s: %v", k, err)
		}
	}
	return nil
}

// firstParagraph keeps a DuckDB error up to its advice on reader options.
func firstParagraph(msg string) string {
	if i := strings.Index(msg, "\n\n"); i > 0 {
		msg = msg[:i]
	}
	if i := strings.Index(msg, "\nPossible "); i > 0 {
		msg = msg[:i]
	}
	return strings.TrimSpace(msg)
}

// files keeps one database open per DuckDB file in this process. DuckDB's lock on the
// file keeps processes apart, but not two databases of one process, which would each
// write the file as if alone (a console's request while watch runs, in one serve). A
// second open is refused as busy, as another process's would be, and waits the same way
// (watch, the console) or tells the user (exit status 4).
var files sync.Map // absolute path -> chan struct{} of capacity 1

// hold takes the file for this database until release, or says it is busy.
func hold(path string) (release func(), err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	v, _ := files.LoadOrStore(abs, make(chan struct{}, 1))
	sem := v.(chan struct{})
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	default:
		return nil, &fault.BusyError{Path: path, PID: strconv.Itoa(os.Getpid()), Err: errors.New("open in this process already")}
	}
}
