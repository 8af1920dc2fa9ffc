package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
)

// A shared engine reopens with a new configuration once nobody uses the old one and
// tells whoever waits on Changed; a second user of an open engine does not wait for the
// first.
func TestSharedReconfigure(t *testing.T) {
	cfg, err := config.WithSettings(map[string]any{"default_company": "A"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.DB = fixture.DB(t, "sales-invoices.sql")
	sh := pipeline.NewShared(cfg, fixture.Quiet)
	ctx := context.Background()
	var first *pipeline.Engine
	changed := sh.Changed()
	err = sh.Use(ctx, func(e *pipeline.Engine) error {
		first = e
		next := *cfg
		next.Settings.DefaultCompany = "B"
		sh.Reconfigure(&next)
		return sh.Use(ctx, func(inner *pipeline.Engine) error {
			if inner != first {
				t.Errorf("an engine in use stays in use")
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	default:
		t.Errorf("Changed was not closed")
	}
	if sh.Config().Settings.DefaultCompany != "B" {
		t.Errorf("Config: %+v", sh.Config().Settings)
	}
	if err := sh.Use(ctx, func(e *pipeline.Engine) error { return nil }); err != nil {
		t.Fatal(err)
	}

	// Settings changed while an engine is open are those of the next run it plans:
	// INV-DEFCO names no company and takes the default one.
	err = sh.Use(ctx, func(e *pipeline.Engine) error {
		next := *sh.Config()
		next.Settings.DefaultCompany = ""
		sh.Reconfigure(&next)
		sums, err := e.Run(ctx, pipeline.Request{Flows: []string{"sales-invoices"}, IDs: []string{"INV-DEFCO"}, DryRun: true})
		if err != nil || sums[0].Errors != 1 {
			t.Errorf("without a default company INV-DEFCO fails: %v %v", sums, err)
		}
		next.Settings.DefaultCompany = "Acme UK Ltd"
		sh.Reconfigure(&next)
		sums, err = e.Run(ctx, pipeline.Request{Flows: []string{"sales-invoices"}, IDs: []string{"INV-DEFCO"}})
		if err != nil || sums[0].Exported != 1 {
			t.Errorf("with the default company set on the open engine, INV-DEFCO is exported: %v %v", sums, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	held := make(chan struct{})
	release := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = sh.Use(ctx, func(*pipeline.Engine) error { close(held); <-release; return nil })
	}()
	<-held
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := sh.Use(short, func(*pipeline.Engine) error { return nil }); err != nil {
		t.Errorf("a user of an open engine does not wait: %v", err)
	}
	close(release)
	<-done // the last user closes the engine, writing beside the file: before the test's files go
}
