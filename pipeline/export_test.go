package pipeline

import (
	"fmt"

	"github.com/oimconnect/oimconnect/pipeline/plan"
)

// DryWrites is what a dry run of plans does with each flow's writes, a line per table
// written: "flow table: skipped", "overlay" or "written".
func DryWrites(plans []*plan.Plan) []string {
	var out []string
	for i, p := range plans {
		w := (&overlays{}).dryWrites(plans[i:])
		seen := map[string]bool{}
		for _, st := range p.Write {
			t := st.Write.Table
			if seen[t.FullName()] {
				continue
			}
			seen[t.FullName()] = true
			what := "written"
			switch {
			case w.skip[t]:
				what = "skipped"
			case w.overlay[t]:
				what = "overlay"
			}
			out = append(out, fmt.Sprintf("%s %s: %s", p.Flow, t.FullName(), what))
		}
	}
	return out
}
