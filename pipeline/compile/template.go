package compile

import (
	"strings"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
)

// Template compiles a message with {expression} placeholders into an SQL string
// expression; a placeholder whose value is nil reads "(empty)". Write {{ for a literal
// brace. Errors point into the whole message.
func (q *Query) Template(src string) (Expr, error) {
	var parts []string
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, catalog.Literal(lit.String()))
			lit.Reset()
		}
	}
	runes := []rune(src)
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		if r == '{' && i+1 < len(runes) && runes[i+1] == '{' {
			lit.WriteRune('{')
			i++
			continue
		}
		if r == '}' && i+1 < len(runes) && runes[i+1] == '}' {
			lit.WriteRune('}')
			i++
			continue
		}
		if r != '{' {
			lit.WriteRune(r)
			continue
		}
		end, depth := -1, 0
		var quote rune
		for j := i + 1; j < len(runes) && end < 0; j++ {
			c := runes[j]
			switch {
			case quote != 0:
				if c == '\\' {
					j++
				} else if c == quote {
					quote = 0
				}
			case c == '"' || c == '\'' || c == '`':
				quote = c
			case c == '{':
				depth++
			case c == '}' && depth > 0:
				depth--
			case c == '}':
				end = j
			}
		}
		if end < 0 {
			return Expr{}, &Error{Source: src, From: i, To: i + 1, Msg: "this { has no closing }"}
		}
		inner := string(runes[i+1 : end])
		e, err := q.Expr(inner)
		q.src = src
		if err != nil {
			if ce, ok := err.(*Error); ok {
				ce.Source, ce.From, ce.To = src, ce.From+i+1, ce.To+i+1
			}
			return Expr{}, err
		}
		flush()
		parts = append(parts, "coalesce(CAST("+e.SQL+" AS VARCHAR), '(empty)')")
		i = end
	}
	flush()
	if len(parts) == 0 {
		return Expr{SQL: "''", Type: stringType}, nil
	}
	if len(parts) == 1 {
		return Expr{SQL: parts[0], Type: stringType}, nil
	}
	return Expr{SQL: "concat(" + strings.Join(parts, ", ") + ")", Type: stringType}, nil
}
