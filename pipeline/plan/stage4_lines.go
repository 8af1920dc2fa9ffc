package plan

import (
	"fmt"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/compile"
)

// stageLines builds l: the lines of ready headers, from the candidates' lines, with
// derived fields.
func (b *builder) stageLines() {
	base := fmt.Sprintf("SELECT * FROM %s WHERE %s IN (SELECT %s FROM %s WHERE _ready)",
		b.tmp("lc"), catalog.Ident(b.parent), key(b.header), b.tmp("h"))
	if b.opt.Explain {
		base = "SELECT *" + givenColumns(b.f.Derive.Lines, b.lines) + " FROM (" + base + ")"
	}
	ctes, last, extra := b.derive([]string{"derive", "lines"}, b.f.Derive.Lines, b.lines, base, nil, b.aliases(), b.parent)
	b.lExtra = extra
	b.temp("l", fmt.Sprintf("WITH %s\nSELECT * FROM %s", ctes, last))
}

func (b *builder) stagedLines() *compile.Lines {
	if b.lines == nil {
		return nil
	}
	return &compile.Lines{Rel: b.linesRel(), Parent: b.parent, Order: b.f.Source.Lines.Order}
}
