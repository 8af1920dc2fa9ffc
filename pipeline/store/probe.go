package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/jackc/pgx/v5"

	"github.com/oimconnect/oimconnect/pipeline/postgres"
)

// Probe tells a watcher, cheaply and without opening the database for a run, whether
// the OIM records may have changed since it last looked: a DuckDB file by its own and
// its log's size and modification time (two stat calls); a PostgreSQL source by the
// change counter its triggers advance (one read of a sequence); a directory of files
// by theirs. The connector's own writes do not count: a watcher marks what it sees
// after its run (Start, Done), and a PostgreSQL source's triggers skip the connector's
// write-back.
type Probe struct {
	src  endpoint
	pg   *pgx.Conn
	seen string
	// Counter is false for a PostgreSQL source without the change counter (init not
	// run since it was added): every look then reports a change.
	Counter bool
}

// NewProbe is a probe of the source at loc (a DuckDB file, a postgres:// URL or a
// directory of files).
func NewProbe(ctx context.Context, loc string) (*Probe, error) {
	p := &Probe{src: classify(loc), Counter: true}
	if p.src.kind == pgDatabase {
		c, err := postgres.Connect(ctx, p.src.loc)
		if err != nil {
			return nil, err
		}
		p.pg = c
		if _, p.Counter, err = postgres.Changes(ctx, c); err != nil {
			c.Close(ctx)
			return nil, err
		}
	}
	return p, nil
}

// Changed reports whether the source looks different from when a run last noted it
// (Start, Done; true before the first run). Not while OIM has a transaction open on a
// PostgreSQL source (postgres.Pending): what it changed cannot be seen before it
// commits, and its commit notifies.
func (p *Probe) Changed(ctx context.Context) (bool, error) {
	now, err := p.look(ctx)
	if now == pending {
		return false, err
	}
	return now != p.seen || now == "", err
}

// pending is how a PostgreSQL source looks while OIM has a transaction open on it: a
// state no run can have seen, so the first look after the commit is a change.
const pending = "pending"

// Start notes the source as a run starts, where the run's own writes leave the probe
// unchanged (a PostgreSQL source's triggers skip the connector's write-back; files are
// never written): what changes during the run is OIM's, and the next look sees it.
func (p *Probe) Start(ctx context.Context) {
	if p.src.kind != duckFile {
		p.seen, _ = p.look(ctx)
	}
}

// Done notes a DuckDB file as the run left it: its own writes changed the file, and
// nobody else could write it while the run held it.
func (p *Probe) Done(ctx context.Context) {
	if p.src.kind == duckFile {
		p.seen, _ = p.look(ctx)
	}
}

// Close releases the probe's connection.
func (p *Probe) Close() {
	if p.pg != nil {
		p.pg.Close(context.Background())
	}
}

func (p *Probe) look(ctx context.Context) (string, error) {
	switch p.src.kind {
	case pgDatabase:
		if !p.Counter {
			return "", nil
		}
		if p.pg.IsClosed() {
			c, err := postgres.Connect(ctx, p.src.loc)
			if err != nil {
				return "", err
			}
			p.pg = c
		}
		n, _, err := postgres.Changes(ctx, p.pg)
		if err != nil {
			return "", fmt.Errorf("look for changes in %s: %w", p.src, err)
		}
		open, err := postgres.Pending(ctx, p.pg)
		if err != nil {
			return "", fmt.Errorf("look for changes in %s: %w", p.src, err)
		}
		if open {
			return pending, nil
		}
		return fmt.Sprint(n), nil
	case fileDir:
		names, _ := filepath.Glob(filepath.Join(p.src.loc, "*"))
		sort.Strings(names)
		out := ""
		for _, n := range names {
			if st, err := os.Stat(n); err == nil {
				out += fmt.Sprintf("%s %d %d\n", filepath.Base(n), st.Size(), st.ModTime().UnixNano())
			}
		}
		return out, nil
	}
	return fmt.Sprintf("%+v", stateOf(p.src.loc)), nil
}

// State is how the source looks now, as a text to compare with a later look (a
// worker keeps it in the queue database between looks, whoever looks).
func (p *Probe) State(ctx context.Context) (string, error) { return p.look(ctx) }
