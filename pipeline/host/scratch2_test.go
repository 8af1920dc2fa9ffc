package host_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/plan"
)

type probe2 struct{}

func (probe2) Transform(ctx context.Context, tx *sql.Tx, conn *sql.Conn, p *plan.Plan) error {
	o1 := p.Outputs[1].Temp
	ex := func(name, q string) {
		t := time.Now()
		_, err := tx.ExecContext(ctx, q)
		if err != nil {
			fmt.Println(name, "ERR", err)
			return
		}
		fmt.Println(name, time.Since(t))
	}
	var n int
	tx.QueryRowContext(ctx, "SELECT count(*) FROM "+o1).Scan(&n)
	if n < 500000 {
		return nil
	}
	ex("stage by id", "CREATE TEMP TABLE s1 AS SELECT id, line_description || 'x' AS line_description, 'D' AS dimension3_id FROM "+o1)
	ex("stage by rowid", "CREATE TEMP TABLE s2 AS SELECT rowid AS r, line_description || 'y' AS line_description, 'E' AS dimension3_id FROM "+o1)
	ex("update by id", "UPDATE "+o1+" SET line_description = s.line_description, dimension3_id = s.dimension3_id FROM s1 s WHERE "+o1+".id = s.id")
	ex("update by rowid", "UPDATE "+o1+" SET line_description = s.line_description, dimension3_id = s.dimension3_id FROM s2 s WHERE "+o1+".rowid = s.r")
	ex("update by id again", "UPDATE "+o1+" SET line_description = s.line_description, dimension3_id = s.dimension3_id FROM s1 s WHERE "+o1+".id = s.id")
	ex("update by rowid again", "UPDATE "+o1+" SET line_description = s.line_description, dimension3_id = s.dimension3_id FROM s2 s WHERE "+o1+".rowid = s.r")
	var c int
	tx.QueryRowContext(ctx, "SELECT count(*) FROM "+o1+" WHERE dimension3_id = 'E' AND line_description LIKE '%y'").Scan(&c)
	fmt.Println("check", c)
	return nil
}

func TestScratch2(t *testing.T) {
	cfg, _ := config.Load("", nil)
	cfg.DB = "/tmp/plantest/big0.duckdb"
	cfg.Settings.DefaultCompany = "Acme UK Ltd"
	e, err := pipeline.Open(context.Background(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	e.Transform = probe2{}
	_, err = e.Run(context.Background(), pipeline.Request{Flows: []string{"sales-invoices"}, DryRun: true})
	t.Log(err)
}
