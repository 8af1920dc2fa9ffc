package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/plan"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
)

// guard keeps a batch from marking exported a record that OIM changed after the batch
// read it (plan.Guard): OIM setting an invoice back to Open, adding a line, changing a
// quantity while the documents were being written. Without it the record would be
// marked Exported with documents of its old state, and the change lost.
//
// Just before the write-back, in the transaction that writes it, the guard locks the
// header and lines tables against OIM's writes and compares each record with what the
// batch read. EXCLUSIVE mode lets OIM read on but not write, nor lock rows: OIM's
// transactions in flight finish first, new ones wait for the commit (milliseconds).
// A weaker SHARE lock would let an OIM transaction that locked an invoice's row
// (SELECT ... FOR UPDATE) wait for the lock to write its lines while the write-back
// waits for that row: a deadlock, which PostgreSQL breaks by failing OIM's
// transaction, as it waited first. The comparison:
//
//   - its header row, column by column, with the candidate the batch staged (read at
//     the flow's start, or the batch's);
//   - its lines' row versions (count, xmin and ctid) with those of the batch's
//     snapshot, in which the batch read them.
//
// Records that differ are the changed ones: the store puts them into the plan's
// Changed table and writes again, leaving them out, this time locked before it writes
// anything (early), so that the check leaves out what it finds and the write goes on.
// They stay as OIM left them and the next run exports them.
type guard struct {
	p       *plan.Guard
	cands   string   // the staged candidates (the header rows as read)
	keys    []string // the batch's records, as text
	lines   map[string]string
	keyType string // the header key's type
	dir     string
	source  pgx.Tx // the source's transaction that holds the lock, when it is not the target's
	early   bool   // lock before writing anything: a check found changes already
	// leaveOut leaves records out of the batch (Changed) and counts it again.
	leaveOut func(keys []string) error
}

// errChanged is the records OIM changed since the batch read them.
type errChanged struct{ keys []string }

func (e *errChanged) Error() string {
	return fmt.Sprintf("OIM changed %d of the batch's records while they were exported", len(e.keys))
}

// newGuard reads the batch's records and their lines' versions in the batch's snapshot
// (which must still be held: the batch read the lines in it). It returns nil for a
// flow that writes nothing back.
func (l *Linked) newGuard(ctx context.Context, conn *sql.Conn, p *plan.Plan) (*guard, error) {
	if p.Guard == nil {
		return nil, nil
	}
	keyCol, _ := p.Guard.Header.Column(p.Guard.Header.Key)
	g := &guard{p: p.Guard, cands: p.Candidates, keyType: keyCol.Type.SQL, dir: l.dir}
	rows, err := conn.QueryContext(ctx, p.Guard.Keys)
	if err != nil {
		return nil, fmt.Errorf("the batch's records: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		g.keys = append(g.keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if p.Guard.Lines == nil || len(g.keys) == 0 {
		return g, nil
	}
	if _, err := l.snapshotOf(ctx, l.src.loc); err != nil { // taken already, unless the batch read no line
		return nil, err
	}
	if g.lines, err = g.versions(ctx, l.snaps[l.src.loc].tx); err != nil {
		return nil, fmt.Errorf("read the versions of %s: %w", p.Guard.Lines.FullName(), err)
	}
	return g, nil
}

// versions is each record's lines' row versions, as a transaction sees them.
func (g *guard) versions(ctx context.Context, tx pgx.Tx) (map[string]string, error) {
	out := map[string]string{}
	if g.p.Lines == nil || len(g.keys) == 0 {
		return out, nil
	}
	parent := catalog.Ident(g.p.Parent)
	rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT %[1]s::text, count(*) || '/' || md5(string_agg(xmin::text || ':' || ctid::text, ',' ORDER BY ctid))
FROM %[2]s WHERE %[1]s = ANY($1::text[]::%[3]s[]) GROUP BY %[1]s`, parent, g.p.Lines.SQLName(), pgType(g.keyType)), g.keys)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

// check locks OIM's tables in tx, the transaction that writes back, and compares the
// batch's records with what it read: errChanged names those OIM changed meanwhile,
// unless the check comes before anything is written (early), when it leaves them out
// itself. Run before the write-back's statements, whose row versions are the
// connector's.
func (g *guard) check(ctx context.Context, tx pgx.Tx, x catalog.Execer) error {
	if len(g.keys) == 0 {
		return nil
	}
	tables := g.p.Header.SQLName()
	if g.p.Lines != nil {
		tables += ", " + g.p.Lines.SQLName()
	}
	// A long OIM transaction is waited for at most this long: OIM's later writes queue
	// behind the request meanwhile.
	if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '10s'"); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE "+tables+" IN EXCLUSIVE MODE"); err != nil {
		return fmt.Errorf("lock %s against OIM's writes: %w", tables, err)
	}
	changed := map[string]bool{}
	now, err := g.versions(ctx, tx)
	if err != nil {
		return fmt.Errorf("read the versions of %s: %w", g.p.Lines.FullName(), err)
	}
	for _, k := range g.keys {
		if now[k] != g.lines[k] {
			changed[k] = true
		}
	}
	// The header rows as they are now, next to the staged candidates.
	h := g.p.Header
	current := g.cands + "_now"
	if _, err := x.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP TABLE %s AS SELECT * FROM %s LIMIT 0", current, g.cands)); err != nil {
		return err
	}
	defer x.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+current)
	k := catalog.Ident(h.Key)
	// COPY takes no parameters: the keys are an array literal.
	query := postgres.Select(h.Schema, h.Name, h.Columns) + fmt.Sprintf(" WHERE %s = ANY(%s::text[]::%s[])", k, catalog.Literal(arrayLiteral(g.keys)), pgType(g.keyType))
	if _, err := postgres.CopyOut(ctx, tx.Conn().PgConn(), query, x, current, h.Columns, g.dir); err != nil {
		return fmt.Errorf("read %s again: %w", h.FullName(), err)
	}
	rows, err := x.QueryContext(ctx, fmt.Sprintf(`SELECT CAST(%[1]s AS VARCHAR) FROM (
  SELECT * FROM %[2]s WHERE CAST(%[1]s AS VARCHAR) IN (%[4]s) AND %[1]s NOT IN (SELECT _hkey FROM %[5]s)
  EXCEPT SELECT * FROM %[3]s)`, k, g.cands, current, g.p.Keys, g.p.Changed))
	if err != nil {
		return fmt.Errorf("compare %s with the batch's: %w", h.FullName(), err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		if err := rows.Scan(&key); err != nil {
			return err
		}
		changed[key] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(changed) == 0 {
		return nil
	}
	e := &errChanged{}
	kept := g.keys[:0]
	for _, k := range g.keys {
		if changed[k] {
			e.keys = append(e.keys, k)
		} else {
			kept = append(kept, k)
		}
	}
	g.keys = kept
	if g.early { // locked before anything was written: left out now, and the write goes on
		return g.leaveOut(e.keys)
	}
	return e
}

// exclude puts the changed records into the plan's Changed table: the writes, the
// counts and the outcomes leave them out from now on.
func (g *guard) exclude(ctx context.Context, x *sql.Conn, keys []string) error {
	vals := make([]string, len(keys))
	for i, k := range keys {
		vals[i] = "(" + catalog.Literal(k) + ")"
	}
	_, err := x.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s SELECT CAST(v AS %s) FROM (VALUES %s) t(v)",
		g.p.Changed, g.keyType, strings.Join(vals, ", ")))
	return err
}

// hold begins the source's own transaction, locked and checked, for a write-back that
// follows the target's commit (a source other than the target).
func (l *Linked) hold(ctx context.Context, g *guard, x catalog.Execer) error {
	g.release(ctx)
	c, err := l.connect(ctx, l.src.loc)
	if err != nil {
		return err
	}
	tx, err := c.Begin(ctx)
	if err != nil {
		return err
	}
	if err := g.check(ctx, tx, x); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	g.source = tx
	return nil
}

// release ends the source's transaction held by hold, if any, writing nothing.
func (g *guard) release(ctx context.Context) {
	if g != nil && g.source != nil {
		_ = g.source.Rollback(context.WithoutCancel(ctx))
		g.source = nil
	}
}

// retryable says a guarded write may be tried again: OIM changed records (they are
// left out next time), or the lock met a deadlock with OIM's transaction, or OIM held
// the tables longer than the lock waits.
func retryable(err error) bool {
	var ch *errChanged
	var pe *pgconn.PgError
	return errors.As(err, &ch) || errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "55P03")
}

// arrayLiteral is a PostgreSQL array literal of text values.
func arrayLiteral(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
	}
	return "{" + strings.Join(q, ",") + "}"
}
