package plan

import "testing"

// A stage that names lc reads it; a name lc only starts, or ends, is another table.
func TestMentionsWholeNamesOnly(t *testing.T) {
	for _, c := range []struct {
		sql  string
		want bool
	}{
		{"SELECT * FROM _oc_lc", true},
		{"SELECT * FROM _oc_lc WHERE x IN (SELECT id FROM _oc_h)", true},
		{"FROM _oc_lc t18\n", true},
		{"DROP TABLE IF EXISTS temp._oc_lc;", true},
		{"SELECT * FROM _oc_lcx", false},
		{"SELECT * FROM x_oc_lc", false},
		{"SELECT * FROM _oc_lcx JOIN _oc_lc ON TRUE", true},
		{"SELECT * FROM _oc_l", false},
		{"", false},
	} {
		if got := mentions(c.sql, "_oc_lc"); got != c.want {
			t.Errorf("mentions(%q, _oc_lc) = %v, want %v", c.sql, got, c.want)
		}
	}
}
