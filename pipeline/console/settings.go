package console

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline/config"
)

// The settings page, the product's admin page: every setting of the contract (and
// watch's poll interval) with its meaning. Admins change them; the change is checked
// exactly as the configuration file is when a command loads it (a refusal shown at its
// field), saved atomically into the configuration file in use (its other content and
// comments kept), recorded in the audit log with the value before and after, and in
// use for every run that starts afterwards.

// settingDef is one setting on the page.
type settingDef struct {
	Key     string // under settings:, dotted
	Label   string
	Meaning string
	Kind    string // text, number, switch, choice, list
	Choices []string
	get     func(config.Settings) any
}

// settingDefs are the settings on the page, in the contract's order; the meanings are
// the contract's.
var settingDefs = []settingDef{
	{"default_company", "Default company", "The Accounting company (by name) of the records that name none: sales orders and service contracts without a company name, vouchers without a purchase order's company.", "text", nil,
		func(s config.Settings) any { return s.DefaultCompany }},
	{"sales_invoice_line_limit", "Sales invoice line limit", lineLimit("sales invoice", "the discount and tax summary lines count"), "number", nil,
		func(s config.Settings) any { return s.SalesInvoiceLineLimit }},
	{"sales_credit_note_line_limit", "Sales credit note line limit", lineLimit("sales credit note", ""), "number", nil,
		func(s config.Settings) any { return s.SalesCreditNoteLineLimit }},
	{"payable_invoice_line_limit", "Payable invoice line limit", lineLimit("payable invoice", "product and expense lines both count"), "number", nil,
		func(s config.Settings) any { return s.PayableInvoiceLineLimit }},
	{"payable_credit_note_line_limit", "Payable credit note line limit", lineLimit("payable credit note", ""), "number", nil,
		func(s config.Settings) any { return s.PayableCreditNoteLineLimit }},
	{"auto_post.sales_invoices", "Auto post sales invoices", autoPost("sales invoices"), "switch", nil,
		func(s config.Settings) any { return s.AutoPost.SalesInvoices }},
	{"auto_post.sales_credit_notes", "Auto post sales credit notes", autoPost("sales credit notes"), "switch", nil,
		func(s config.Settings) any { return s.AutoPost.SalesCreditNotes }},
	{"auto_post.payable_invoices", "Auto post payable invoices", autoPost("payable invoices"), "switch", nil,
		func(s config.Settings) any { return s.AutoPost.PayableInvoices }},
	{"auto_post.payable_credit_notes", "Auto post payable credit notes", autoPost("payable credit notes"), "switch", nil,
		func(s config.Settings) any { return s.AutoPost.PayableCreditNotes }},
	{"auto_post.journals", "Auto post journals", autoPost("journals"), "switch", nil,
		func(s config.Settings) any { return s.AutoPost.Journals }},
	{"tax_summary_line", "Tax summary line", "AvaTax: a sales invoice gets one more line, of line type Tax, for the invoice's total tax (when it is not zero).", "switch", nil,
		func(s config.Settings) any { return s.TaxSummaryLine }},
	{"default_ap_control_gla", "Default AP control GLA", "The AP control general ledger account (its id in Accounting) of a vendor account whose supplier site names none.", "text", nil,
		func(s config.Settings) any { return s.DefaultAPControlGLA }},
	{"default_ar_control_gla", "Default AR control GLA", "The AR control general ledger account (its id in Accounting) of a vendor account whose supplier site names none.", "text", nil,
		func(s config.Settings) any { return s.DefaultARControlGLA }},
	{"vendor_duplicate_check", "Vendor duplicate check", "name: a supplier site with no account is linked to an existing vendor account of the same name (trimmed, any case) instead of creating a second one; none: every site gets its own account.", "choice", []string{"name", "none"},
		func(s config.Settings) any { return s.VendorDuplicateCheck }},
	{"journal_custom_transaction_types", "Journal custom transaction types", "Inventory transaction types the journals flow exports besides the contract's list, one per line.", "list", nil,
		func(s config.Settings) any { return s.JournalCustomTransactionTypes }},
	{"automation.poll_interval", "Automation poll interval", "How often watch looks whether OIM changed anything (a duration such as 200ms or 5s); a run starts only when something changed.", "text", nil,
		func(s config.Settings) any { return s.Automation.PollInterval }},
}

func lineLimit(doc, note string) string {
	s := "The most lines a " + doc + " has: a record with more is split, in source line order, into several documents of at most this many lines each, with identical headers"
	if note != "" {
		s += " (" + note + ")"
	}
	return s + "."
}

func autoPost(docs string) string {
	return "On: " + docs + " are written with status Complete; off: In Progress."
}

// path is the setting's path in the configuration file.
func (d settingDef) path() []string {
	return append([]string{"settings"}, strings.Split(d.Key, ".")...)
}

// settingField is one setting on the page, with its value and any refusal.
type settingField struct {
	settingDef
	Value   string // as the form shows it
	On      bool   // a switch's value
	SetBy   string // what overrides the file ("" the file)
	Problem string // why the value entered was refused
}

// settingsData is the settings page's.
type settingsData struct {
	File     string
	Fields   []settingField
	Problems []string // refusals at no field
}

func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request) {
	cfg := s.config.get()
	s.render(w, r, http.StatusOK, "settings", view{Title: "Settings", Nav: "settings", Data: s.settingsData(cfg, nil, nil)})
}

// settingsData shows cfg's settings; entered, when set, are the values the admin
// entered (shown again beside their refusals).
func (s *Server) settingsData(cfg *config.Config, entered map[string]string, problems map[string]string) settingsData {
	d := settingsData{File: filepath.Base(cfg.File())}
	for _, def := range settingDefs {
		f := settingField{settingDef: def, SetBy: cfg.SetBy(def.path()...), Problem: problems[def.Key]}
		v := def.get(cfg.Settings)
		switch x := v.(type) {
		case bool:
			f.On = x
		case []string:
			f.Value = strings.Join(x, "\n")
		default:
			f.Value = fmt.Sprint(x)
		}
		if e, ok := entered[def.Key]; ok {
			f.Value, f.On = e, e == "on"
		}
		d.Fields = append(d.Fields, f)
	}
	return d
}

// saveSettings checks and saves the settings the admin changed.
func (s *Server) saveSettings(w http.ResponseWriter, r *http.Request) {
	me, _ := whoOf(r)
	cfg := s.config.get()
	entered := map[string]string{}
	problems := map[string]string{}
	type change struct {
		def           settingDef
		before, after any
	}
	var changes []change
	for _, def := range settingDefs {
		if cfg.SetBy(def.path()...) != "" {
			continue // the environment or a flag decides it: not the file's to change
		}
		raw := r.PostFormValue("s." + def.Key)
		entered[def.Key] = raw
		val, err := parseSetting(def, raw)
		if err != nil {
			problems[def.Key] = err.Error()
			continue
		}
		if before := def.get(cfg.Settings); !sameValue(before, val) {
			changes = append(changes, change{def, before, val})
		}
	}
	refused := func(general []string) {
		d := s.settingsData(cfg, entered, problems)
		d.Problems = general
		s.render(w, r, http.StatusUnprocessableEntity, "settings", view{Title: "Settings", Nav: "settings",
			Error: "Nothing was saved: correct the settings marked below.", Data: d})
	}
	if len(problems) > 0 {
		refused(nil)
		return
	}
	if len(changes) == 0 {
		s.redirectFlash(w, r, "/settings", "Nothing changed.", "")
		return
	}
	fields := map[string][]string{}
	for _, c := range changes {
		fields[c.def.Key] = c.def.path()
	}
	var details []string
	for _, c := range changes {
		details = append(details, fmt.Sprintf("settings.%s: %s -> %s", c.def.Key, show(c.before), show(c.after)))
	}
	_, err := s.config.edit(func(doc *config.Document) error {
		for _, c := range changes {
			if err := doc.Set(c.after, c.def.path()...); err != nil {
				return err
			}
		}
		return nil
	}, func() error { return s.audit(r.Context(), me.name, "setting", details...) })
	var refusal *editError
	switch {
	case errors.As(err, &refusal):
		byField, general := fieldErrors(refusal.err, refusal.data, fields)
		for k, v := range byField {
			problems[k] = v
		}
		s.log.Info("settings refused", "user", me.name, "problems", len(problemsOf(refusal.err)))
		refused(general)
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	var names []string
	for _, c := range changes {
		s.log.Info("setting changed", "user", me.name, "setting", "settings."+c.def.Key)
		names = append(names, c.def.Label)
	}
	s.redirectFlash(w, r, "/settings", "Saved: "+strings.Join(names, ", ")+". Runs that start from now on use the new values.", "")
}

// parseSetting reads a setting's value as the form sent it.
func parseSetting(def settingDef, raw string) (any, error) {
	raw = strings.TrimSpace(raw)
	switch def.Kind {
	case "number":
		n, err := strconv.Atoi(raw)
		if err != nil {
			return nil, fmt.Errorf("settings.%s must be a whole number, not %q", def.Key, raw)
		}
		return n, nil
	case "switch":
		return raw == "on", nil
	case "list":
		items := []string{}
		for _, l := range strings.Split(raw, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				items = append(items, l)
			}
		}
		return items, nil
	case "choice":
		if !contains(def.Choices, raw) {
			return nil, fmt.Errorf("settings.%s must be one of %s", def.Key, strings.Join(def.Choices, ", "))
		}
	}
	return raw, nil
}

// sameValue compares a setting's values (an empty list is no list).
func sameValue(a, b any) bool {
	if la, ok := a.([]string); ok {
		lb, _ := b.([]string)
		return len(la) == 0 && len(lb) == 0 || reflect.DeepEqual(la, lb)
	}
	return reflect.DeepEqual(a, b)
}

// show is a setting's value as the audit log records it.
func show(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case []string:
		q := make([]string, len(x))
		for i, s := range x {
			q[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	return fmt.Sprint(v)
}
