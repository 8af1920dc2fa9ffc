package pipeline_test

import (
	"context"
	"database/sql"
	"os"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
)

// Two crashes in a row must not cost a committed export or the file: a run killed while
// writing its commit to DuckDB's write-ahead log leaves a torn tail there; the next run
// recovers, exports and commits, and is killed before its checkpoint too; the run after
// must open the file and find that export. (The crash test, make test-reliability,
// finds this at random; here the kills are simulated: checkpoints on close are turned
// off, and the log's last bytes cut.)
func TestTwoCrashesInARowKeepTheFile(t *testing.T) {
	path := fixture.DB(t, "sales-invoices.sql")
	ctx := context.Background()
	open := func() *pipeline.Engine {
		t.Helper()
		cfg := demoConfig(t, path, "", "")
		e, err := pipeline.Open(ctx, cfg, quiet)
		if err != nil {
			t.Fatal(err)
		}
		// Closing without a checkpoint leaves the WAL as a kill would.
		if _, err := e.DB().Exec("PRAGMA disable_checkpoint_on_shutdown"); err != nil {
			t.Fatal(err)
		}
		return e
	}
	// Run 1 exports INV-OK, then is killed while committing INV-DISC.
	e := open()
	for _, id := range []string{"INV-OK", "INV-DISC"} {
		if _, err := e.Run(ctx, pipeline.Request{Flows: []string{"sales-invoices"}, IDs: []string{id}}); err != nil {
			t.Fatal(err)
		}
	}
	e.Close()
	st, err := os.Stat(path + ".wal")
	if err != nil {
		t.Fatalf("no WAL left: %v", err)
	}
	if err := os.Truncate(path+".wal", st.Size()-16); err != nil {
		t.Fatal(err)
	}
	// Run 2 exports the rest, killed after its commit.
	e = open()
	if _, err := e.Run(ctx, pipeline.Request{Flows: []string{"sales-invoices"}}); err != nil {
		t.Fatal(err)
	}
	e.Close()
	// Run 3 opens the file and finds everything run 2 committed.
	db, err := sql.Open("duckdb", path)
	if err == nil {
		err = db.Ping()
	}
	if err != nil {
		t.Fatalf("the file cannot be opened after two crashes: %v", err)
	}
	defer db.Close()
	var ok, disc string
	if err := db.QueryRow(`SELECT (SELECT export_status FROM oim.invoice WHERE id = 'INV-OK'), (SELECT export_status FROM oim.invoice WHERE id = 'INV-DISC')`).Scan(&ok, &disc); err != nil {
		t.Fatal(err)
	}
	if ok != "Exported" || disc != "Exported" {
		t.Errorf("committed exports lost: INV-OK %s, INV-DISC %s", ok, disc)
	}
}
