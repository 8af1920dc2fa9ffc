package console

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// liveConfig is the configuration in use: the shared engine's, loaded again when its
// file changes on disk (`oimconnect user` adds or removes a user while the console
// runs: that takes effect at the next request), and changed by the console's own
// edits, which are checked as the file is and saved atomically.
type liveConfig struct {
	engine *pipeline.Shared
	log    *slog.Logger
	flows  []string // the flows' names, for the flow-keyed settings

	// editing is held through an edit, its audit included (which may wait for the
	// database): one edit at a time. mu is held while the file is reloaded or saved
	// and put in use, never while waiting for the database, so pages go on meanwhile.
	editing sync.Mutex
	mu      sync.Mutex
	stamp   fileStamp // the file as last loaded or saved
	checked time.Time // when the file was last looked at
}

// fileStamp tells a file's versions apart without reading it.
type fileStamp struct {
	mod  time.Time
	size int64
}

func stampOf(path string) fileStamp {
	st, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{st.ModTime(), st.Size()}
}

func newLiveConfig(engine *pipeline.Shared, log *slog.Logger, flows []string) *liveConfig {
	l := &liveConfig{engine: engine, log: log, flows: flows}
	if f := engine.Config().File(); f != "" {
		l.stamp = stampOf(f)
	}
	return l
}

// reloadEvery bounds how often the file is looked at.
const reloadEvery = time.Second

// get is the configuration in use, loaded again first when its file changed.
func (l *liveConfig) get() *config.Config {
	cfg := l.engine.Config()
	if cfg.File() == "" {
		return cfg
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Since(l.checked) < reloadEvery {
		return l.engine.Config()
	}
	l.checked = time.Now()
	st := stampOf(cfg.File())
	if st == l.stamp {
		return cfg
	}
	l.stamp = st
	data, err := os.ReadFile(cfg.File())
	if err == nil {
		var next *config.Config
		if next, err = l.check(cfg, data); err == nil {
			l.engine.Reconfigure(next)
			l.log.Info("configuration file changed: loaded again", "file", cfg.File())
			return next
		}
	}
	l.log.Warn("configuration file changed, but is refused: the one in use stays", "file", cfg.File(), "error", err)
	return cfg
}

// check loads data as the configuration file, as the commands would.
func (l *liveConfig) check(cfg *config.Config, data []byte) (*config.Config, error) {
	next, err := cfg.Reload(data)
	if err != nil {
		return nil, err
	}
	if err := next.CheckFlows(l.flows); err != nil {
		return nil, err
	}
	return next, nil
}

// editError is a refused edit: why, with the edited contents its positions refer to.
type editError struct {
	err  error
	data []byte
}

func (e *editError) Error() string { return e.err.Error() }
func (e *editError) Unwrap() error { return e.err }

// edit changes the configuration file with change, checks the result exactly as the
// file is checked when a command loads it, has record audit it, then saves it
// atomically and puts it in use. A refused edit is an *editError; an edit that record
// cannot audit is not saved (no change is made untraced). Either way the file is left
// as it was. An edit that changes nothing is neither recorded nor saved.
func (l *liveConfig) edit(change func(*config.Document) error, record func() error) (*config.Config, error) {
	l.editing.Lock()
	defer l.editing.Unlock()
	cfg := l.engine.Config()
	file := cfg.File()
	if file == "" {
		return nil, errors.New("no configuration file to save into: start the console with --config FILE")
	}
	doc, err := config.ReadDocument(file)
	if err != nil {
		return nil, err
	}
	if err := change(doc); err != nil {
		return nil, err
	}
	data, err := doc.Bytes()
	if err != nil {
		return nil, err
	}
	next, err := l.check(cfg, data)
	if err != nil {
		return nil, &editError{err: err, data: data}
	}
	if old, _ := os.ReadFile(file); bytes.Equal(old, data) {
		return cfg, nil
	}
	if err := record(); err != nil {
		return nil, err
	}
	if err := l.save(file, data, next); err != nil {
		return nil, err
	}
	return next, nil
}

// save writes the edited file and puts its configuration in use.
func (l *liveConfig) save(file string, data []byte, next *config.Config) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := config.WriteFileAtomic(file, data); err != nil {
		return fmt.Errorf("save the configuration: %w", err)
	}
	l.stamp, l.checked = stampOf(file), time.Now()
	l.engine.Reconfigure(next)
	return nil
}

// problemsOf are the positioned problems an error holds (none: it is not positioned).
func problemsOf(err error) spec.Problems {
	var ps spec.Problems
	var p spec.Problem
	switch {
	case errors.As(err, &ps):
		return ps
	case errors.As(err, &p):
		return spec.Problems{p}
	}
	return nil
}
