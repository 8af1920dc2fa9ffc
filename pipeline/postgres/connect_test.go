package postgres_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
)

// A database that does not allow connections now is unavailable (try again later),
// not a mistake in what was asked; one that does not exist is.
func TestConnectRefusals(t *testing.T) {
	pg := fixture.Postgres(t)
	ctx := context.Background()
	admin, err := postgres.Connect(ctx, os.Getenv("TEST_POSTGRES_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	u, _ := url.Parse(pg)
	name := strings.TrimPrefix(u.Path, "/")
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS false"); err != nil {
		t.Fatal(err)
	}
	_, err = postgres.Connect(ctx, pg)
	var down *fault.UnavailableError
	if !errors.As(err, &down) || fault.ExitStatus(err) != fault.ExitLater {
		t.Errorf("a database not allowing connections: %v (exit %d), want unavailable", err, fault.ExitStatus(err))
	}
	u.Path = "/" + name + "_nope"
	if _, err = postgres.Connect(ctx, u.String()); !fault.IsInput(err) {
		t.Errorf("a database that does not exist: %v, want a mistake in what was asked", err)
	}
}
