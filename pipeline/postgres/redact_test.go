package postgres

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestRedactHidesEveryPassword(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://ann:s3cret@db:5432/oim", "postgres://ann:xxxxx@db:5432/oim"},
		{"postgres://ann@db/oim?sslmode=disable", "postgres://ann@db/oim?sslmode=disable"},
		{"postgres://ann@db/oim?sslmode=disable&password=QueryS3cret", "postgres://ann@db/oim?password=xxxxx&sslmode=disable"},
		{"postgresql://ann:a@db/oim?sslpassword=k3y&password=b", "postgresql://ann:xxxxx@db/oim?password=xxxxx&sslpassword=xxxxx"},
		{"postgres://ann:pa%25ss@db/oim", "postgres://ann:xxxxx@db/oim"},
		{"oim.duckdb", "oim.duckdb"},
		// Not a URL that parses: everything between the scheme and the host goes.
		{"postgres://ann:s3cret@db:bad port/oim", "postgres://***@db:bad port/oim"},
	} {
		if got := Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPasswordsAndScrub(t *testing.T) {
	dsn := "postgres://ann:pa%20ss@db/oim?password=Q%26S&sslpassword=k3y"
	got := Passwords(dsn)
	for _, want := range []string{"pa ss", "pa+ss", "Q&S", "Q%26S", "k3y"} {
		if !slices.Contains(got, want) {
			t.Errorf("Passwords(%q) = %q: %q missing", dsn, got, want)
		}
	}
	err := scrub(errors.New(`connect: password "Q&S" (or pa ss, k3y) refused`), dsn)
	if msg := err.Error(); strings.Contains(msg, "Q&S") || strings.Contains(msg, "pa ss") || strings.Contains(msg, "k3y") {
		t.Errorf("scrub left a password: %s", msg)
	}
	plain := errors.New("no password here")
	if scrub(plain, dsn) != plain {
		t.Errorf("scrub replaced an error that holds no password")
	}
}
