// Package regions is the transform of the regiondims example plugin: a tenant that
// reports sales by region in Dimension 3 and wants its own line descriptions.
//
// Settings (plugins[].settings in the configuration):
//
//	regions:                  # customer account -> Dimension 3 (a region)
//	  ACC-C-0001: DIM3-001
//	region_dimensions:        # accounts not listed: the account number's value
//	  [DIM3-001, DIM3-002]    # modulo the count picks one (ACC-C-0042 -> the 42 % n-th)
//	require_region: true      # an invoice whose account has no region is refused
//	description: "{line}. {description} [{item}] {quantity} x {unit_price}"
//
// The description placeholders are {description} (the mapped one), {item},
// {quantity}, {unit_price}, {line} (the line number), {invoice} (the OIM invoice),
// {account} and {region} (the account's, empty when it has none); a null value is
// empty. Without description the mapped one
// stays. Money and quantities are printed from their decimals exactly.
package regions

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/oimconnect/oimconnect/plugins/shared"
)

// The tables and columns of the sales-invoices flow the transform works on.
const (
	Invoices = "acct.sales_invoice"
	Lines    = "acct.sales_invoice_line_item"
)

// Settings are the plugin's settings.
type Settings struct {
	Regions          map[string]string `json:"regions"`
	RegionDimensions []string          `json:"region_dimensions"`
	RequireRegion    bool              `json:"require_region"`
	Description      string            `json:"description"`
}

// Transform is the region and description transform.
type Transform struct{}

// Columns sends only what the transform reads or sets.
func (Transform) Columns(flow string) map[string][]string {
	return map[string][]string{
		Invoices: {"account_id", "oim_invoice_id"},
		Lines:    {"line_description", "item_id", "quantity", "unit_price", "line_number", "dimension3_id"},
	}
}

var trailingNumber = regexp.MustCompile(`(\d+)$`)

// Region is the account's region: from the table, else picked by the account number.
func (s Settings) Region(account string) (string, bool) {
	if r, ok := s.Regions[account]; ok {
		return r, true
	}
	if len(s.RegionDimensions) == 0 {
		return "", false
	}
	m := trailingNumber.FindString(account)
	if m == "" {
		return "", false
	}
	n, err := strconv.ParseUint(m, 10, 64)
	if err != nil {
		return "", false
	}
	return s.RegionDimensions[n%uint64(len(s.RegionDimensions))], true
}

// Transform sets the regions and descriptions of one batch.
func (Transform) Transform(_ context.Context, b *shared.Batch) error {
	var s Settings
	if err := b.DecodeSettings(&s); err != nil {
		return err
	}
	docs := b.Table(Invoices)
	if docs == nil {
		return errors.New("no sales invoices in the batch")
	}
	type invoice struct {
		account, oim string
		region       sql.NullString
	}
	keys, accounts, oims := docs.Text(shared.KeyColumn), docs.Text("account_id"), docs.Text("oim_invoice_id")
	if keys == nil || accounts == nil || oims == nil {
		return errors.New("the invoices lack _hkey, account_id or oim_invoice_id")
	}
	invoices := make(map[string]*invoice, keys.Len())
	for i := 0; i < keys.Len(); i++ {
		k := keys.Value(i)
		if invoices[k] != nil {
			continue // a record split into several invoices: same account
		}
		inv := &invoice{account: accounts.Value(i), oim: oims.Value(i)}
		if r, ok := s.Region(inv.account); ok {
			inv.region = sql.NullString{String: r, Valid: true}
		} else if s.RequireRegion {
			b.Invalidate(k, fmt.Sprintf("no region for account %s", inv.account))
		}
		invoices[k] = inv
	}
	lines := b.Table(Lines)
	if lines == nil {
		return nil
	}
	lkeys := lines.Text(shared.KeyColumn)
	if lkeys == nil {
		return errors.New("the lines lack _hkey")
	}
	if err := lines.MapText("dimension3_id", func(row int, v sql.NullString) sql.NullString {
		if inv := invoices[lkeys.Value(row)]; inv != nil && inv.region.Valid {
			return inv.region
		}
		return v
	}); err != nil {
		return err
	}
	if s.Description == "" {
		return nil
	}
	f, err := parseFormat(s.Description)
	if err != nil {
		return err
	}
	desc, item := lines.Text("line_description"), lines.Text("item_id")
	qty, _ := lines.Column("quantity").(*array.Decimal128)
	price, _ := lines.Column("unit_price").(*array.Decimal128)
	number, _ := lines.Column("line_number").(*array.Int32)
	if desc == nil || item == nil || qty == nil || price == nil || number == nil {
		return errors.New("the lines lack a column the description needs")
	}
	var buf []byte
	return lines.MapText("line_description", func(row int, _ sql.NullString) sql.NullString {
		inv := invoices[lkeys.Value(row)]
		buf = buf[:0]
		for _, part := range f {
			if part.field == "" {
				buf = append(buf, part.text...)
				continue
			}
			switch part.field {
			case "description":
				buf = appendText(buf, desc, row)
			case "item":
				buf = appendText(buf, item, row)
			case "quantity":
				buf = appendDecimal(buf, qty, row)
			case "unit_price":
				buf = appendDecimal(buf, price, row)
			case "line":
				if number.IsValid(row) {
					buf = strconv.AppendInt(buf, int64(number.Value(row)), 10)
				}
			case "region":
				if inv != nil {
					buf = append(buf, inv.region.String...)
				}
			case "invoice":
				if inv != nil {
					buf = append(buf, inv.oim...)
				}
			case "account":
				if inv != nil {
					buf = append(buf, inv.account...)
				}
			}
		}
		return sql.NullString{String: string(buf), Valid: true}
	})
}

func appendText(dst []byte, a *array.String, row int) []byte {
	if a.IsNull(row) {
		return dst
	}
	return append(dst, a.Value(row)...)
}

func appendDecimal(dst []byte, a *array.Decimal128, row int) []byte {
	if a.IsNull(row) {
		return dst
	}
	return shared.AppendDecimal(dst, a.Value(row), a.DataType().(*arrow.Decimal128Type).Scale)
}

// part is a piece of a description format: literal text or a {field}.
type part struct{ text, field string }

var fields = map[string]bool{"description": true, "item": true, "quantity": true, "unit_price": true,
	"line": true, "invoice": true, "account": true, "region": true}

// parseFormat splits a description format into text and fields.
func parseFormat(format string) ([]part, error) {
	var out []part
	for format != "" {
		open := strings.IndexByte(format, '{')
		if open < 0 {
			out = append(out, part{text: format})
			break
		}
		end := strings.IndexByte(format[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("description %q: { without }", format)
		}
		name := format[open+1 : open+end]
		if !fields[name] {
			return nil, fmt.Errorf("description: unknown field {%s} (fields: description, item, quantity, unit_price, line, invoice, account, region)", name)
		}
		if open > 0 {
			out = append(out, part{text: format[:open]})
		}
		out = append(out, part{field: name})
		format = format[open+end+1:]
	}
	return out, nil
}
