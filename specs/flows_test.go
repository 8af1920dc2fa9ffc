package specs_test

import (
	"testing"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
)

// Each flow's tests (<flow>_test.go) run its spec through the engine on its fixture
// (testdata/fixtures/<flow>.sql) and compare with its golden file
// (testdata/golden/<flow>.txt; UPDATE_GOLDEN=1 rewrites them); <flow>_test.yaml beside
// them are the spec's own unit tests, which `oimconnect test` runs.

func engine(t *testing.T, path string, edit func(*config.Config), opts ...pipeline.Option) *pipeline.Engine {
	t.Helper()
	return fixture.Engine(t, path, edit, opts...)
}

var (
	run        = fixture.Run
	rowsOf     = fixture.Rows
	valueOf    = fixture.Value
	wantRows   = fixture.WantRows
	execSQL    = fixture.Exec
	mismatches = fixture.Mismatches
)
