package host_test

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/host"
	"github.com/oimconnect/oimconnect/plugins/examples/regiondims/regions"
)

func TestScratch(t *testing.T) {
	cfg, _ := config.Load("", nil)
	cfg.DB = "/tmp/plantest/big0.duckdb"
	cfg.Settings.DefaultCompany = "Acme UK Ltd"
	e, err := pipeline.Open(context.Background(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if os.Getenv("SDK") == "1" {
		e.Transform = host.NewInProcess(e.Specs, log, host.InProcess{Name: "region-dims", Flows: []string{"sales-invoices"}, Settings: benchSettings(), Impl: regions.Transform{}})
	} else {
		p := declare(t, "region-dims", "regiondims", benchSettings())
		h, err := host.New([]config.Plugin{p}, e.Specs, log)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		e.Transform = h
	}
	s, err := e.Run(context.Background(), pipeline.Request{Flows: []string{"sales-invoices"}, DryRun: true})
	t.Log(s, err)
}
