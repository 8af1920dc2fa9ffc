package host

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/marcboeker/go-duckdb"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/plan"
	"github.com/oimconnect/oimconnect/plugins/shared"
)

// rowColumn holds, in the changes the host stages, the row's rowid in the output. Rows
// added in a transaction get other row ids when it commits, so a pass reads the row
// ids of committed rows only: an output an earlier pass left a view is made a table
// again before the pass's transaction begins (or, in a shared dry run, everything runs
// in its one transaction).
const rowColumn = "_px_r"

// pass runs one plugin over one flow's staged outputs, with the transform's statements
// (pipeline.Transformer).
//
// The documents not already failed are split into batches of about the plugin's
// batch size (contiguous ranges of the source record key, so a document is never
// split). Each batch is read once from each output the plugin wants, straight from
// the staged table by its key range, narrowed to the columns the plugin wants (plus
// each row's rowid, kept by the host), with the driver's Arrow interface; it is sent
// and its reply checked; the columns the plugin changed are loaded back, with the
// rows' rowids, through Arrow views into staging tables. At the end the changes go into the outputs: an UPDATE
// when they touch few rows; else the output becomes a view of itself joined to the
// changes, which the write reads once (an UPDATE of every row costs more, and DuckDB
// then scans the table much more slowly; a copy of every row costs more too). The
// plugin's refusals and failures join the plan's Bad table.
//
// Arrow views are only ever read whole (INSERT ... SELECT *): DuckDB 1.1's Arrow scan
// through go-duckdb returns the wrong columns when a query reads only some.
type pass struct {
	ctx     context.Context
	x       catalog.Execer // the transform's statements (see pipeline.Transformer), or the pass's transaction
	conn    *sql.Conn      // when the pass runs in a transaction of its own (begin), x outside it
	ar      *duckdb.Arrow
	p       *plan.Plan
	left    *plan.Leftovers // what the passes leave for the write: outputs made views, the tables behind them
	r       *runner
	parents map[string]string

	prefix string   // starts every temp table of the pass
	temps  []string // dropped when the pass ends
	docs   string   // (_hkey, n) of every document the pass handles, n its rows
	msgs   string   // (_hkey as text, _msg): the pass's refusals and failures
	nb     int
	ranges []string // per batch, the SQL condition on _hkey selecting its documents
	tables []*sent
	stages []*stage
	start  time.Time
	failed int          // batches failed
	db     sync.Mutex   // the connection runs one statement at a time: reads overlap the plugin's work
	live   atomic.Int64 // batches read and not yet released
	// time spent: preparing (batches, columns), sending every batch, and, overlapping
	// within that, reading batches, in the plugin, checking and staging replies; then
	// applying the changes
	prep, batched, read, call, keep, finish time.Duration
}

// sent is an output the plugin gets.
type sent struct {
	out       plan.Output
	name      string // the target table
	cols      []string
	protected map[string]bool
	links     map[string]bool // columns linking a row to its OIM record (plan.Output.Links)
	key       string          // the target's key column
	sorted    string          // when set, the copy batches are read from (sortOutputs)
}

// stage holds one output's changed values for one set of changed columns.
type stage struct {
	out  *sent
	cols []string // the rowid, then the changed columns
	temp string
	rows int64
}

func (s *pass) exec(query string) error {
	s.db.Lock()
	defer s.db.Unlock()
	return s.execLocked(query)
}

// execLocked is exec for a caller holding s.db.
func (s *pass) execLocked(query string) error {
	t := time.Now()
	if _, err := s.x.ExecContext(s.ctx, query); err != nil {
		return fmt.Errorf("%w\n%s", err, query)
	}
	if d := time.Since(t); d > 50*time.Millisecond {
		q := query
		if len(q) > 80 {
			q = strings.ToValidUTF8(q[:80], "") + "..."
		}
		s.r.log.Debug("plugin step", "plugin", s.r.name, "sql", q, "duration", d.Round(time.Millisecond))
	}
	return nil
}

func (s *pass) temp(name string) string {
	t := s.prefix + name
	s.temps = append(s.temps, t)
	return t
}

func (s *pass) cleanup() {
	for _, t := range s.temps {
		_, _ = s.x.ExecContext(context.WithoutCancel(s.ctx), "DROP TABLE IF EXISTS temp."+t)
	}
}

func (s *pass) run() (err error) {
	s.start = time.Now()
	if len(s.p.Outputs) == 0 {
		return nil
	}
	n, err := s.batches()
	if err != nil || n == 0 {
		return err
	}
	s.msgs = s.temp("msg")
	if err := s.exec("CREATE TEMP TABLE " + s.msgs + " (_hkey VARCHAR, _msg VARCHAR)"); err != nil {
		return err
	}
	want, err := s.want()
	if err == nil {
		err = s.materialize(want)
	}
	if err == nil {
		if err = s.begin(); err != nil {
			return err
		}
		defer s.end(&err)
		err = s.choose(want)
	}
	if err != nil {
		if f, ok := isFail(err); ok {
			if err := s.failAll(f.msg); err != nil {
				return err
			}
			return s.merge()
		}
		return err
	}
	if len(s.tables) == 0 {
		return nil
	}
	if err := s.sortOutputs(); err != nil {
		return err
	}
	s.prep = time.Since(s.start)
	t := time.Now()
	if err := s.each(); err != nil {
		return err
	}
	s.batched = time.Since(t)
	t = time.Now()
	if err := s.merge(); err != nil {
		return err
	}
	s.finish = time.Since(t)
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	sorted := 0
	for _, t := range s.tables {
		if t.sorted != "" {
			sorted++
		}
	}
	s.r.log.Debug("plugin pass done", "plugin", s.r.name, "flow", s.p.Flow, "documents", n, "batches", s.nb, "sorted_copies", sorted,
		"failed_batches", s.failed, "duration", ms(time.Since(s.start)), "prepare", ms(s.prep), "batches_took", ms(s.batched),
		"read", ms(s.read), "plugin", ms(s.call), "stage", ms(s.keep), "apply", ms(s.finish))
	return nil
}

// batches splits the documents not failed yet into batches of about the plugin's
// batch size (rows of every output), in key order: the docs table lists them, and
// s.ranges holds each batch's key range.
func (s *pass) batches() (int, error) {
	var rows []string
	for _, o := range s.p.Outputs {
		rows = append(rows, "SELECT _hkey FROM "+o.Temp)
	}
	s.docs = s.temp("docs")
	if err := s.exec(fmt.Sprintf(`CREATE TEMP TABLE %s AS SELECT _hkey, count(*) AS n FROM (%s) WHERE _hkey NOT IN (SELECT _hkey FROM %s) GROUP BY 1`,
		s.docs, strings.Join(rows, " UNION ALL "), s.p.Bad)); err != nil {
		return 0, fmt.Errorf("number batches: %w", err)
	}
	var docs, total int64
	var typ sql.NullString
	if err := s.x.QueryRowContext(s.ctx, fmt.Sprintf("SELECT count(*), coalesce(sum(n), 0), any_value(typeof(_hkey)) FROM %s", s.docs)).Scan(&docs, &total, &typ); err != nil {
		return 0, fmt.Errorf("number batches: %w", err)
	}
	if docs == 0 {
		return 0, nil
	}
	var bounds []string
	if total > int64(s.r.rows) {
		q := fmt.Sprintf(`SELECT CAST(_hkey AS VARCHAR) FROM (
			SELECT _hkey, (sum(n) OVER (ORDER BY _hkey ROWS UNBOUNDED PRECEDING) - n) // %d AS b FROM %s)
			QUALIFY row_number() OVER (PARTITION BY b ORDER BY _hkey) = 1 ORDER BY _hkey`, s.r.rows, s.docs)
		rs, err := s.x.QueryContext(s.ctx, q)
		if err != nil {
			return 0, fmt.Errorf("number batches: %w", err)
		}
		defer rs.Close()
		for rs.Next() {
			var k string
			if err := rs.Scan(&k); err != nil {
				return 0, err
			}
			bounds = append(bounds, k)
		}
		if err := rs.Err(); err != nil {
			return 0, err
		}
		if len(bounds) > 0 {
			bounds = bounds[1:] // the first batch starts at the first key
		}
	}
	s.nb = len(bounds) + 1
	s.ranges = ranges(bounds, typ.String)
	return int(docs), nil
}

// ranges is, per batch, the SQL condition on _hkey selecting its keys: batch i holds
// the keys from bounds[i-1] (included) to bounds[i] (excluded).
func ranges(bounds []string, typ string) []string {
	lit := func(v string) string {
		if typ == "VARCHAR" || typ == "" {
			return catalog.Literal(v)
		}
		return "CAST(" + catalog.Literal(v) + " AS " + typ + ")"
	}
	out := make([]string, len(bounds)+1)
	for i := range out {
		var c []string
		if i > 0 {
			c = append(c, "_hkey >= "+lit(bounds[i-1]))
		}
		if i < len(bounds) {
			c = append(c, "_hkey < "+lit(bounds[i]))
		}
		if len(c) == 0 {
			c = append(c, "TRUE")
		}
		out[i] = strings.Join(c, " AND ")
	}
	return out
}

// begin starts the pass's own transaction when the transform's statements commit on
// their own (not within a shared dry run): the replies stage into its tables much faster
// than statement by statement (at a million lines 0.65 s against 1 s), and its commit at
// the end of the pass gives the write the tables' sizes. end commits it, or rolls it back
// after an error.
func (s *pass) begin() error {
	c, ok := s.x.(*sql.Conn)
	if !ok {
		return nil
	}
	tx, err := c.BeginTx(s.ctx, nil)
	if err != nil {
		return err
	}
	s.conn, s.x = c, tx
	return nil
}

func (s *pass) end(err *error) {
	if s.conn == nil {
		return
	}
	tx := s.x.(*sql.Tx)
	s.x, s.conn = s.conn, nil
	if *err != nil {
		_ = tx.Rollback()
		return
	}
	*err = tx.Commit()
}

// want asks the plugin what it wants of each output (nil: everything). An unknown table
// is the plugin's mistake: a *fail.
func (s *pass) want() (map[string][]string, error) {
	want, err := s.r.columns(s.ctx, s.p.Flow)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, o := range s.p.Outputs {
		known[o.Target.FullName()] = true
	}
	for name := range want {
		if !known[name] {
			return nil, failf("asks for table %s, which flow %s does not write", name, s.p.Flow)
		}
	}
	return want, nil
}

// wants reports whether the plugin wants an output, and which of its columns.
func wants(want map[string][]string, o plan.Output) ([]string, bool) {
	cols, listed := want[o.Target.FullName()]
	return cols, want == nil || listed
}

// choose lists the columns the plugin gets of each output it wants. An unknown column
// is the plugin's mistake: a *fail.
func (s *pass) choose(want map[string][]string) error {
	for _, o := range s.p.Outputs {
		name := o.Target.FullName()
		cols, ok := wants(want, o)
		if !ok {
			continue
		}
		all, err := s.columnsOf(o.Temp)
		if err != nil {
			return err
		}
		t := &sent{out: o, name: name, key: o.Target.Key, protected: map[string]bool{o.Target.Key: true}, links: map[string]bool{}}
		for _, c := range o.Links {
			t.links[c] = true
		}
		if p := s.parents[name]; p != "" {
			t.protected[p] = true
		}
		for _, c := range all {
			if strings.HasPrefix(c, "_") {
				t.protected[c] = true
			}
		}
		if !slices.Contains(all, t.key) || !slices.Contains(all, shared.KeyColumn) {
			return fmt.Errorf("%s lacks its key column %s or %s", o.Temp, t.key, shared.KeyColumn)
		}
		for _, c := range cols {
			if !slices.Contains(all, c) {
				return failf("asks for column %s, which %s does not have", c, name)
			}
		}
		for _, c := range all {
			// The plugin gets the record key and the row's key, and what it asks for.
			if len(cols) == 0 || c == shared.KeyColumn || c == t.key || slices.Contains(cols, c) {
				t.cols = append(t.cols, c)
			}
		}
		s.tables = append(s.tables, t)
	}
	return nil
}

func (s *pass) columnsOf(table string) ([]string, error) {
	rows, err := s.x.QueryContext(s.ctx, "SELECT * FROM "+table+" LIMIT 0")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rows.Columns()
}

// sortedFrom is how many batches a pass has before it reads them from sorted copies
// of the outputs rather than from the outputs themselves (sortOutputs).
var sortedFrom = 40

// readQuery reads batch b of an output: each row's rowid, then the columns the plugin
// gets, of the batch's documents not failed when the pass started.
func (s *pass) readQuery(t *sent, b int) string {
	cols := s.columns(t)
	if t.sorted != "" {
		return fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s", rowColumn, cols, t.sorted, s.ranges[b])
	}
	return fmt.Sprintf("SELECT rowid AS %s, %s FROM %s WHERE %s AND _hkey NOT IN (SELECT _hkey FROM %s)",
		rowColumn, cols, t.out.Temp, s.ranges[b], s.p.Bad)
}

func (s *pass) columns(t *sent) string {
	cols := make([]string, len(t.cols))
	for i, c := range t.cols {
		cols[i] = catalog.Ident(c)
	}
	return strings.Join(cols, ", ")
}

// sortOutputs copies, for a pass of many batches, the columns the plugin gets of each
// output (and each row's rowid) in key order, once. The plan stores the outputs in key
// order, so a batch's read skips the row groups out of its key range, but still reads
// the key column of those it cannot tell apart and filters the failed documents: up to
// a few dozen batches that is cheaper than a copy (at 22 batches of 50,000 rows,
// reading straight took 0.75 s, against 0.58 s for the copy and 0.55 s for reading it),
// but it is paid again for every batch, so passes of more batches pay for the copy,
// which is read by ranges of its key.
func (s *pass) sortOutputs() error {
	if s.nb < sortedFrom {
		return nil
	}
	for _, t := range s.tables {
		t.sorted = s.temp(fmt.Sprintf("sorted%d", len(s.temps)))
		if err := s.exec(fmt.Sprintf("CREATE TEMP TABLE %s AS SELECT rowid AS %s, %s FROM %s WHERE _hkey NOT IN (SELECT _hkey FROM %s) ORDER BY _hkey",
			t.sorted, rowColumn, s.columns(t), t.out.Temp, s.p.Bad)); err != nil {
			return fmt.Errorf("sort %s: %w", t.name, err)
		}
	}
	return nil
}

// inFlight bounds the batches alive at once per pass: the one the plugin is working
// on and the next, read meanwhile.
const inFlight = 2

// loaded is one batch read from the outputs, ready for the plugin.
type loaded struct {
	live   *atomic.Int64 // the pass's batches in memory
	b      int
	batch  *shared.Batch
	orig   []arrow.Record // per table, what was sent
	rowids []arrow.Array  // per table, each row's rowid in the output
	rows   int
	hold   []arrow.Record
	err    error // reading it failed
	called error // the plugin's call failed (a *fail)
}

func (l *loaded) release() {
	for _, r := range l.hold {
		r.Release()
	}
	l.hold = nil
	if l.live.Add(-1) < 0 {
		panic("plugin host: batch released twice")
	}
}

// each sends every batch through the plugin, in three steps that overlap: one
// goroutine reads batch n+1 while the plugin works on batch n, and another checks
// and stages the reply to batch n-1 meanwhile. A batch holds one of inFlight slots
// from its read until its reply is staged, so at most inFlight batches (with their
// replies) are in memory, and the connection, which runs one statement at a time
// (s.db), works while the plugin does.
func (s *pass) each() error {
	slots := make(chan struct{}, inFlight)
	read := make(chan *loaded)
	called := make(chan *loaded)
	stop := make(chan struct{})
	var once sync.Once
	halt := func() { once.Do(func() { close(stop) }) }
	halted := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // reads
		defer wg.Done()
		defer close(read)
		for b := 0; b < s.nb; b++ {
			select {
			case slots <- struct{}{}:
			case <-stop:
				return
			}
			if halted() {
				<-slots
				return
			}
			l := s.readBatch(b)
			select {
			case read <- l:
			case <-stop:
				l.release()
				<-slots
				return
			}
			if l.err != nil {
				return
			}
		}
	}()
	var stageErr error
	go func() { // checks and stages the replies
		defer wg.Done()
		for l := range called {
			if !halted() {
				if err := s.keepReply(l); err != nil {
					stageErr = err
					halt()
				}
			}
			l.release()
			<-slots
		}
	}()
	var err error
	for l := range read {
		switch {
		case halted():
		case l.err != nil:
			err = l.err
			halt()
		case l.rows > 0:
			t := time.Now()
			l.called = s.r.transform(s.ctx, l.batch)
			s.call += time.Since(t)
			if _, ok := isFail(l.called); l.called != nil && !ok {
				err = l.called // the run is stopping
				halt()
			}
		}
		called <- l
	}
	close(called)
	wg.Wait()
	if err == nil {
		err = stageErr
	}
	return err
}

// readBatch reads batch b of every output the plugin wants.
func (s *pass) readBatch(b int) *loaded {
	t0 := time.Now()
	s.db.Lock()
	defer s.db.Unlock()
	defer func() { s.read += time.Since(t0) }()
	if n := s.live.Add(1); n > s.r.peak.Load() {
		s.r.peak.Store(n) // one reading goroutine per pass, and passes take turns
	}
	l := &loaded{live: &s.live, b: b, orig: make([]arrow.Record, len(s.tables)), rowids: make([]arrow.Array, len(s.tables)),
		batch: &shared.Batch{Flow: s.p.Flow, Settings: s.r.settings}}
	for i, t := range s.tables {
		// the rowid, then t.cols
		rr, err := s.ar.QueryContext(s.ctx, s.readQuery(t, b))
		if err != nil {
			l.err = fmt.Errorf("read batch %d of %s: %w", b, t.name, err)
			return l
		}
		var chunks []arrow.Record
		for rr.Next() {
			rec := rr.Record()
			rec.Retain()
			chunks = append(chunks, rec)
		}
		schema := rr.Schema()
		rr.Release()
		l.hold = append(l.hold, chunks...)
		all, err := shared.Concat(schema, chunks)
		if err != nil {
			l.err = fmt.Errorf("read batch %d of %s: %w", b, t.name, err)
			return l
		}
		l.rowids[i] = all.Column(0)
		rec := array.NewRecord(arrow.NewSchema(schema.Fields()[1:], nil), all.Columns()[1:], all.NumRows())
		if len(chunks) != 1 {
			l.hold = append(l.hold, all) // else all is the chunk, held already
		}
		l.hold = append(l.hold, rec)
		l.orig[i] = rec
		l.rows += int(rec.NumRows())
		l.batch.Tables = append(l.batch.Tables, shared.NewTable(t.name, t.out.Header, rec))
	}
	return l
}

// keepReply checks the plugin's reply to a batch and stages what it changed and
// refused, or fails the batch's documents.
func (s *pass) keepReply(l *loaded) error {
	if l.rows == 0 {
		return nil
	}
	t := time.Now()
	defer func() { s.keep += time.Since(t) }()
	err := l.called
	if err == nil {
		err = s.check(l.batch, l.orig)
	}
	if err != nil {
		f, ok := isFail(err)
		if !ok {
			return err
		}
		s.failed++
		s.r.log.Warn("plugin failed a batch", "plugin", s.r.name, "flow", s.p.Flow, "batch", l.b+1, "of", s.nb, "reason", f.msg)
		return s.exec(fmt.Sprintf("INSERT INTO %s SELECT CAST(_hkey AS VARCHAR), %s FROM %s WHERE %s",
			s.msgs, catalog.Literal(s.message(f.msg)), s.docs, s.ranges[l.b]))
	}
	for i, t := range s.tables {
		if got := l.batch.Tables[i]; got.Changed() {
			if err := s.stageChanges(t, l.rowids[i], l.orig[i], got.Record()); err != nil {
				return err
			}
		}
	}
	return s.refuse(l.batch.Invalid())
}

func (s *pass) message(msg string) string { return "plugin " + s.r.name + ": " + msg }

// check holds a reply to the rules: the columns sent (those left out keep their
// values), of the same types, the same rows in the same order with the same keys, and
// refusals of documents it was sent.
func (s *pass) check(b *shared.Batch, orig []arrow.Record) error {
	if len(b.Tables) != len(s.tables) {
		return failf("returned %d tables for %d sent", len(b.Tables), len(s.tables))
	}
	for i, t := range s.tables {
		got := b.Tables[i]
		if got.Name != t.name {
			return failf("reordered the tables of the batch")
		}
		if !got.Changed() {
			continue
		}
		rec, want := got.Record(), orig[i]
		if rec == nil {
			return failf("returned no rows for %s", t.name)
		}
		if m := shared.Merge(want, rec); m != rec { // the columns it left out keep their values
			rec = m
			got.Replace(m)
		}
		if err := sameSchema(t.name, want.Schema(), rec.Schema()); err != nil {
			return err
		}
		if rec.NumRows() != want.NumRows() {
			return failf("returned %d rows of %s for %d sent: a plugin may not add or drop rows", rec.NumRows(), t.name, want.NumRows())
		}
		for c, name := range t.cols {
			if same(want.Column(c), rec.Column(c)) {
				continue
			}
			if t.protected[name] {
				return failf("changed key column %s of %s: a plugin may not change keys or reorder rows", name, t.name)
			}
			if t.links[name] {
				return failf("changed %s of %s, the link to the OIM record each row was made from: a plugin may not change it", name, t.name)
			}
			if err := fits(t, name, rec.Column(c)); err != nil {
				return err
			}
		}
	}
	inv := b.Invalid()
	if len(inv) == 0 {
		return nil
	}
	keys := map[string]bool{}
	for i, t := range s.tables {
		c := slices.Index(t.cols, shared.KeyColumn)
		if c < 0 {
			continue
		}
		col := orig[i].Column(c)
		for r := 0; r < col.Len(); r++ {
			keys[col.ValueStr(r)] = true
		}
	}
	for _, v := range inv {
		if !keys[v.Key] {
			return failf("marked document %q invalid, which is not in the batch", v.Key)
		}
	}
	return nil
}

// fits checks the values a plugin set in a column against what the target takes: a
// value where Accounting requires one, a decimal within the column's digits (Arrow's
// decimal128 holds more than DuckDB's DECIMAL(18,2), which would keep a wrong number).
// Broken, the write would fail the whole run, or store garbage.
func fits(t *sent, name string, got arrow.Array) error {
	if col, ok := t.out.Target.Column(name); ok && col.NotNull && got.NullN() > 0 {
		return failf("left %s.%s empty, which Accounting requires", t.name, name)
	}
	d, ok := got.(*array.Decimal128)
	if !ok {
		return nil
	}
	typ := d.DataType().(*arrow.Decimal128Type)
	for i := 0; i < d.Len(); i++ {
		if d.IsValid(i) && !d.Value(i).FitsInPrecision(typ.Precision) {
			return failf("set %s.%s to %s, more digits than its DECIMAL(%d,%d) holds", t.name, name, d.Value(i).ToString(typ.Scale), typ.Precision, typ.Scale)
		}
	}
	return nil
}

// same reports whether two columns hold the same values: a column a plugin did not
// change is the very array sent.
func same(a, b arrow.Array) bool { return a == b || array.Equal(a, b) }

// sameSchema reports a reply whose columns differ from what was sent.
func sameSchema(table string, want, got *arrow.Schema) error {
	for i, f := range want.Fields() {
		if i >= got.NumFields() {
			return failf("dropped column %s of %s", f.Name, table)
		}
		g := got.Field(i)
		if g.Name != f.Name {
			if got.HasField(f.Name) {
				return failf("reordered the columns of %s (%s where %s was sent)", table, g.Name, f.Name)
			}
			return failf("returned column %s where %s of %s was sent", g.Name, f.Name, table)
		}
		if !arrow.TypeEqual(f.Type, g.Type) {
			return failf("changed the type of %s.%s from %s to %s", table, f.Name, f.Type, g.Type)
		}
	}
	if got.NumFields() > want.NumFields() {
		return failf("added column %s to %s", got.Field(want.NumFields()).Name, table)
	}
	return nil
}

// stageChanges stages the columns the plugin changed in one output, with the rows'
// rowids.
func (s *pass) stageChanges(t *sent, rowids arrow.Array, orig, got arrow.Record) error {
	names := []string{rowColumn}
	fields := []arrow.Field{{Name: rowColumn, Type: rowids.DataType(), Nullable: true}}
	cols := []arrow.Array{rowids}
	for c, name := range t.cols {
		if !t.protected[name] && !same(orig.Column(c), got.Column(c)) {
			names = append(names, name)
			fields = append(fields, got.Schema().Field(c))
			cols = append(cols, got.Column(c))
		}
	}
	if len(names) == 1 {
		return nil
	}
	st, err := s.stageFor(t, names)
	if err != nil {
		return err
	}
	rec := array.NewRecord(arrow.NewSchema(fields, nil), cols, got.NumRows())
	defer rec.Release()
	st.rows += rec.NumRows()
	return s.load(st.temp, rec)
}

func (s *pass) stageFor(t *sent, cols []string) (*stage, error) {
	for _, st := range s.stages {
		if st.out == t && slices.Equal(st.cols, cols) {
			return st, nil
		}
	}
	st := &stage{out: t, cols: cols, temp: s.temp(fmt.Sprintf("st%d", len(s.temps)))}
	q := []string{"rowid AS " + rowColumn}
	for _, c := range cols[1:] {
		q = append(q, catalog.Ident(c))
	}
	if err := s.exec(fmt.Sprintf("CREATE TEMP TABLE %s AS SELECT %s FROM %s LIMIT 0", st.temp, strings.Join(q, ", "), t.out.Temp)); err != nil {
		return nil, err
	}
	s.stages = append(s.stages, st)
	return st, nil
}

// refuse stages the plugin's refusals.
func (s *pass) refuse(inv []shared.Invalid) error {
	if len(inv) == 0 {
		return nil
	}
	keys := array.NewStringBuilder(memory.DefaultAllocator)
	msgs := array.NewStringBuilder(memory.DefaultAllocator)
	defer keys.Release()
	defer msgs.Release()
	for _, v := range inv {
		reason := v.Reason
		if strings.TrimSpace(reason) == "" {
			reason = "refused the document (no reason given)"
		}
		keys.Append(v.Key)
		msgs.Append(s.message(reason))
	}
	k, m := keys.NewArray(), msgs.NewArray()
	defer k.Release()
	defer m.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "_hkey", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "_msg", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	rec := array.NewRecord(schema, []arrow.Array{k, m}, int64(len(inv)))
	defer rec.Release()
	return s.load(s.msgs, rec)
}

// load appends a record to a table of the same columns through an Arrow view.
func (s *pass) load(table string, rec arrow.Record) error {
	s.db.Lock()
	defer s.db.Unlock()
	rec.Retain()
	reader := &viewReader{schema: rec.Schema(), recs: []arrow.Record{rec}}
	defer reader.drop()
	view := s.prefix + "view"
	release, err := s.ar.RegisterView(reader, view)
	if err != nil {
		return fmt.Errorf("register arrow view: %w", err)
	}
	defer release()
	if err := s.execLocked(fmt.Sprintf("INSERT INTO %s SELECT * FROM %s", table, view)); err != nil {
		return err
	}
	return s.execLocked("DROP VIEW IF EXISTS " + view)
}

// viewReader feeds an Arrow view. DuckDB (1.1, through go-duckdb) never releases the
// stream a view reads, so the reader it holds forever must not hold the records: drop
// lets them go once the view has been read.
type viewReader struct {
	schema *arrow.Schema
	recs   []arrow.Record
	cur    arrow.Record
	next   int
}

func (r *viewReader) Retain()               {}
func (r *viewReader) Release()              {}
func (r *viewReader) Schema() *arrow.Schema { return r.schema }
func (r *viewReader) Record() arrow.Record  { return r.cur }
func (r *viewReader) Err() error            { return nil }

func (r *viewReader) Next() bool {
	r.cur = nil
	if r.next >= len(r.recs) {
		return false
	}
	r.cur = r.recs[r.next]
	r.next++
	return true
}

func (r *viewReader) drop() {
	for _, rec := range r.recs {
		rec.Release()
	}
	r.recs, r.cur = nil, nil
}

// failAll fails every document of the pass.
func (s *pass) failAll(msg string) error {
	s.failed = s.nb
	s.r.log.Warn("plugin failed a flow", "plugin", s.r.name, "flow", s.p.Flow, "reason", msg)
	return s.exec(fmt.Sprintf("INSERT INTO %s SELECT CAST(_hkey AS VARCHAR), %s FROM %s", s.msgs, catalog.Literal(s.message(msg)), s.docs))
}

// merge applies the staged changes to the outputs, and adds the refused and failed
// documents to Bad (appending to a reason already there).
func (s *pass) merge() error {
	for _, t := range s.tables {
		if err := s.apply(t); err != nil {
			return fmt.Errorf("apply changes to %s: %w", t.name, err)
		}
	}
	m := s.temp("m")
	bad := s.p.Bad
	for _, q := range []string{
		fmt.Sprintf(`CREATE TEMP TABLE %s AS SELECT d._hkey, string_agg(m._msg, '; ') AS _msg FROM %s m JOIN %s d ON CAST(d._hkey AS VARCHAR) = m._hkey GROUP BY 1`, m, s.msgs, s.docs),
		fmt.Sprintf(`UPDATE %s SET _msg = %s._msg || '; ' || m._msg FROM %s m WHERE %s._hkey = m._hkey`, bad, bad, m, bad),
		fmt.Sprintf(`INSERT INTO %s (_hkey, _msg) SELECT _hkey, _msg FROM %s WHERE _hkey NOT IN (SELECT _hkey FROM %s)`, bad, m, bad),
	} {
		if err := s.exec(q); err != nil {
			return fmt.Errorf("fail documents: %w", err)
		}
	}
	return nil
}

// apply puts the staged changes into an output: with an UPDATE when they touch few of
// its rows, else by making it a view of the old table joined to them.
func (s *pass) apply(t *sent) error {
	var stages []*stage
	var staged int64
	for _, st := range s.stages {
		if st.out == t {
			stages = append(stages, st)
			staged += st.rows
		}
	}
	if len(stages) == 0 {
		return nil
	}
	out := t.out.Temp
	var rows int64
	if err := s.x.QueryRowContext(s.ctx, "SELECT count(*) FROM "+out).Scan(&rows); err != nil {
		return err
	}
	inPlace := staged*8 < rows
	s.r.log.Debug("plugin changes applied", "plugin", s.r.name, "table", t.name, "rows", staged, "of", rows, "in_place", inPlace)
	if inPlace {
		for _, st := range stages {
			set := make([]string, 0, len(st.cols)-1)
			for _, c := range st.cols[1:] {
				set = append(set, fmt.Sprintf("%s = s.%s", catalog.Ident(c), catalog.Ident(c)))
			}
			if err := s.exec(fmt.Sprintf("UPDATE %s SET %s FROM %s s WHERE %s.rowid = s.%s", out, strings.Join(set, ", "), st.temp, out, rowColumn)); err != nil {
				return err
			}
		}
		return nil
	}
	var joins []string
	set := map[string]string{}
	for i, st := range stages {
		alias := fmt.Sprintf("s%d", i)
		joins = append(joins, fmt.Sprintf("LEFT JOIN %s %s ON %s.%s = o.rowid", st.temp, alias, alias, rowColumn))
		for _, c := range st.cols[1:] {
			prev, ok := set[c]
			if !ok {
				prev = "o." + catalog.Ident(c)
			}
			set[c] = fmt.Sprintf("CASE WHEN %s.%s IS NULL THEN %s ELSE %s.%s END", alias, rowColumn, prev, alias, catalog.Ident(c))
		}
	}
	var replace []string
	for _, c := range slices.Sorted(maps.Keys(set)) {
		replace = append(replace, set[c]+" AS "+catalog.Ident(c))
	}
	// The output becomes a view of itself joined to the changes: the write reads it
	// once, so the join is computed once, and no copy of every row is made. The engine
	// drops the view and the tables behind it (the Leftovers Transform returns) after
	// the write.
	orig := s.prefix + "orig" + strings.TrimPrefix(out, strings.TrimSuffix(s.p.Bad, "bad"))
	for _, q := range []string{
		fmt.Sprintf("ALTER TABLE %s RENAME TO %s", out, orig),
		fmt.Sprintf("CREATE TEMP VIEW %s AS SELECT o.* REPLACE (%s) FROM %s o %s", out, strings.Join(replace, ", "), orig, strings.Join(joins, " ")),
	} {
		if err := s.exec(q); err != nil {
			return err
		}
	}
	s.left.Temps = append(s.left.Temps, orig)
	for _, st := range stages {
		s.left.Temps = append(s.left.Temps, st.temp)
		s.temps = slices.DeleteFunc(s.temps, func(t string) bool { return t == st.temp })
	}
	s.left.Views = append(s.left.Views, out)
	return nil
}

// materialize makes each output the plugin wants that an earlier pass left a view a
// table again, for this pass to read by rowid: before the pass's transaction begins, so
// that the row ids it reads are final.
func (s *pass) materialize(want map[string][]string) error {
	for _, o := range s.p.Outputs {
		out := o.Temp
		if _, ok := wants(want, o); !ok || !slices.Contains(s.left.Views, out) {
			continue
		}
		tmp := s.temp("mat")
		for _, q := range []string{
			fmt.Sprintf("CREATE TEMP TABLE %s AS SELECT * FROM %s", tmp, out),
			"DROP VIEW " + out,
			fmt.Sprintf("ALTER TABLE %s RENAME TO %s", tmp, out),
		} {
			if err := s.exec(q); err != nil {
				return err
			}
		}
		// A table again under the output's name, which the plan drops (its Temps).
		s.left.Views = slices.DeleteFunc(s.left.Views, func(v string) bool { return v == out })
	}
	return nil
}
