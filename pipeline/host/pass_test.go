package host_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/host"
	"github.com/oimconnect/oimconnect/plugins/shared"
)

// engineWith opens the sales-invoices fixture with h as its transform; both are closed
// when the test ends.
func engineWith(t *testing.T, h *host.Host) *pipeline.Engine {
	t.Helper()
	t.Cleanup(func() { h.Close() })
	cfg, err := config.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DB = fixture.DB(t, "sales-invoices.sql")
	fixture.SalesInvoiceSettings(cfg)
	set, err := pipeline.LoadSpecs("")
	if err != nil {
		t.Fatal(err)
	}
	e, err := pipeline.Open(context.Background(), cfg, quiet, pipeline.WithSpecs(set), pipeline.WithTransform(h))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// slowMark marks every line's dimension4_id, slowly, and notes the columns it gets.
type slowMark struct {
	mu   sync.Mutex
	got  map[string][]string // table -> columns received
	cols map[string][]string // its Columns answer; nil: every column
}

func (m *slowMark) Columns(string) map[string][]string { return m.cols }

func (m *slowMark) Transform(_ context.Context, b *shared.Batch) error {
	time.Sleep(20 * time.Millisecond)
	m.mu.Lock()
	for _, t := range b.Tables {
		var names []string
		for _, f := range t.Record().Schema().Fields() {
			names = append(names, f.Name)
		}
		m.got[t.Name] = names
	}
	m.mu.Unlock()
	for _, t := range b.Lines() {
		if err := t.MapText("dimension4_id", func(int, sql.NullString) sql.NullString {
			return sql.NullString{String: "MARK", Valid: true}
		}); err != nil {
			return err
		}
	}
	return nil
}

// A pass reads the next batch while the plugin works on one, and never holds more
// than two batches: with one document per batch and a slow transform, the reading
// goroutine is always ahead, and waits.
func TestTwoBatchesInFlight(t *testing.T) {
	t.Parallel()
	impl := &slowMark{got: map[string][]string{}}
	h := host.NewInProcess(nil, quiet, host.InProcess{Name: "slow", Flows: []string{"sales-invoices"}, BatchSize: 1, Impl: impl})
	e := engineWith(t, h)
	s := runSales(t, e)
	if s.Exported != 7 {
		t.Fatalf("summary %v", s)
	}
	if got := h.PeakBatches(); got != 2 {
		t.Errorf("want two batches in memory at most, and the next one read while the plugin works: peak %d", got)
	}
	for _, id := range valid {
		assertWritten(t, e, id, "MARK")
	}
}

// A plugin that declares its columns gets those and the keys (_hkey and the table's
// id) of the tables it names, and no other table; every column it was not sent is
// written as the flow mapped it.
func TestUndeclaredColumnsPassThrough(t *testing.T) {
	t.Parallel()
	lines := "acct.sales_invoice_line_item"
	impl := &slowMark{got: map[string][]string{}, cols: map[string][]string{lines: {"dimension4_id"}}}
	h := host.NewInProcess(nil, quiet, host.InProcess{Name: "narrow", Flows: []string{"sales-invoices"}, BatchSize: 1, Impl: impl})
	e := engineWith(t, h)
	runSales(t, e)
	if len(impl.got) != 1 || !slices.Equal(impl.got[lines], []string{"_hkey", "id", "dimension4_id"}) {
		t.Errorf("want the lines' _hkey, id and dimension4_id alone, got %v", impl.got)
	}
	for _, id := range valid {
		assertWritten(t, e, id, "MARK")
	}
	// The same run without a plugin writes the same rows, but for dimension4_id.
	plain, _ := engine(t)
	runSales(t, plain)
	q := []string{
		"SELECT COLUMNS(* EXCLUDE (dimension4_id))::VARCHAR FROM acct.sales_invoice_line_item ORDER BY 1",
		fixture.Table("acct.sales_invoice"),
	}
	if got, want := fixture.Dump(t, e.DB(), q...), fixture.Dump(t, plain.DB(), q...); got != want {
		t.Errorf("columns the plugin was not sent changed:\ngot\n%s\nwant\n%s", got, want)
	}
}

// A pass of many batches reads them from sorted copies of the outputs: the same
// documents as reading the outputs straight (the golden file of TestRegionDimsGolden).
// Not parallel: it changes when passes sort.
func TestManyBatchesReadSortedCopies(t *testing.T) {
	defer host.SortFrom(2)()
	var log strings.Builder
	p := declare(t, "region-dims", "regiondims", regionSettings)
	p.BatchSize = 3
	e, _ := engineLog(t, slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})), p)
	runSales(t, e)
	if !strings.Contains(log.String(), "sorted_copies=2") {
		t.Errorf("the pass reads sorted copies of both outputs:\n%s", log.String())
	}
	fixture.Golden(t, "plugin-region-dims.txt", fixture.Dump(t, e.DB(), salesDump...))
}

// cancelling is slowMark that stops the run while it works on batch at.
type cancelling struct {
	slowMark
	at     int64
	n      atomic.Int64
	cancel context.CancelFunc
}

func (c *cancelling) Transform(ctx context.Context, b *shared.Batch) error {
	if c.n.Add(1) == c.at {
		c.cancel()
	}
	return c.slowMark.Transform(ctx, b)
}

// A run stopped (Ctrl-C) while a plugin works on a batch writes nothing; the pass's
// transaction is rolled back, the connection stays usable, and the next run exports
// every document once.
func TestStoppedDuringAPass(t *testing.T) {
	t.Parallel()
	impl := &cancelling{slowMark: slowMark{got: map[string][]string{}}, at: 3}
	h := host.NewInProcess(nil, quiet, host.InProcess{Name: "slow", Flows: []string{"sales-invoices"}, BatchSize: 1, Impl: impl})
	e := engineWith(t, h)
	e.DB().SetMaxOpenConns(1) // the next run gets the stopped run's connection
	before := fixture.Dump(t, e.DB(), salesDump...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	impl.cancel = cancel
	if _, err := e.Run(ctx, pipeline.Request{Flows: []string{"sales-invoices"}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("want the run stopped, got %v", err)
	}
	if after := fixture.Dump(t, e.DB(), salesDump...); after != before {
		t.Fatalf("a run stopped during a pass wrote:\n%s", after)
	}
	if s := runSales(t, e); s.Exported != 7 || s.Documents != 8 {
		t.Fatalf("the next run exports every document once: %v", s)
	}
	for _, id := range valid {
		assertWritten(t, e, id, "MARK")
	}
}
