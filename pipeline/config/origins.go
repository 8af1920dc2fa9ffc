package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// origins remembers where the layers above the defaults set each key, so that a refusal
// names the place to fix: the flag, the environment variable, or the file's line and
// column.
type origins struct {
	pos   *spec.Positions   // the file's, nil without one
	env   map[string]string // key (dotted) -> environment variable
	flags map[string]string // key (dotted) -> flag, "--db"
}

// problem is a message about the value at path (with key, about its name in a map),
// placed where the value was set: the nearest key on the path that a layer set, the
// last layer winning. A value nobody set is a default, and the message says "config".
func (c *Config) problem(path []string, key bool, format string, args ...any) spec.Problem {
	msg := fmt.Sprintf(format, args...)
	o := c.origin
	if o == nil {
		return spec.Problem{File: "config", Msg: msg}
	}
	for i := len(path); i > 0; i-- {
		at := path[:i]
		dotted := strings.Join(at, ".")
		if f, ok := setBy(o.flags, dotted); ok {
			return spec.Problem{File: "flag " + f, Msg: msg}
		}
		if v, ok := setBy(o.env, dotted); ok {
			return spec.Problem{File: "environment variable " + v, Msg: msg}
		}
		if o.pos != nil && o.pos.Node(at...) != nil {
			if key && i == len(path) {
				return o.pos.KeyErrorf(at, "%s", msg)
			}
			return o.pos.Errorf(at, "%s", msg)
		}
	}
	return spec.Problem{File: "config", Msg: msg}
}

// setBy finds what set the key or a key inside it (the first by name, for a stable
// message).
func setBy(by map[string]string, dotted string) (string, bool) {
	if v, ok := by[dotted]; ok {
		return v, true
	}
	var found []string
	for k, v := range by {
		if strings.HasPrefix(k, dotted+".") {
			found = append(found, v)
		}
	}
	if len(found) == 0 {
		return "", false
	}
	sort.Strings(found)
	return found[0], true
}

// ErrorAt places err where the value at path came from (file:line:column, the
// environment variable or the flag), as a *fault.InputError. Path segments are keys,
// and list indexes as numbers: ErrorAt(err, "plugins", "0", "sha256").
func (c *Config) ErrorAt(err error, path ...string) error {
	return &fault.InputError{Err: c.problem(path, false, "%v", err)}
}

// CheckFlows refuses the names of flows that do not exist: the keys of
// settings.automation.flows and settings.schedules (flow names written with _ for -,
// sales_invoices for sales-invoices) and each plugin's flows (written as they are,
// sales-invoices). Every mistake is reported at its key in the file, or with its
// environment variable, as spec.Problems in a *fault.InputError.
func (c *Config) CheckFlows(flows []string) error {
	keys := map[string]bool{}
	var keyList []string
	known := map[string]bool{}
	for _, f := range flows {
		k := flowKey(f)
		keys[k], known[f] = true, true
		keyList = append(keyList, k)
	}
	var probs spec.Problems
	checkKeys := func(section string, m []string) {
		for _, k := range m {
			if !keys[k] {
				probs = append(probs, c.problem(append(strings.Split(section, "."), k), true,
					"%s: no flow %q%s (the keys are flow names with _ for -: %s)", section, k, fault.Closest(k, keyList), strings.Join(keyList, ", ")))
			}
		}
	}
	checkKeys("settings.automation.flows", sortedKeys(c.Settings.Automation.Flows))
	checkKeys("settings.schedules", sortedKeys(c.Settings.Schedules))
	for i, p := range c.Plugins {
		for j, f := range p.Flows {
			if !known[f] {
				probs = append(probs, c.problem([]string{"plugins", strconv.Itoa(i), "flows", strconv.Itoa(j)}, false,
					"plugin %s: unknown flow %q%s (flows: %s)", p.Name, f, fault.Closest(f, flows), strings.Join(flows, ", ")))
			}
		}
	}
	if len(probs) > 0 {
		return &fault.InputError{Err: probs}
	}
	return nil
}

// flowKey is a flow's name as a key of the flow-keyed settings: sales-invoices ->
// sales_invoices.
func flowKey(flow string) string {
	return strings.ReplaceAll(flow, "-", "_")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var configType = reflect.TypeOf(Config{})

// envValue reads one OIMCONNECT_ variable (name, already turned into the dotted key)
// as the type of the setting it names. A name that is no setting, a section, or a
// value of the wrong type is a Problem naming the variable.
func envValue(name, key, value string) (any, *spec.Problem) {
	bad := func(format string, args ...any) (any, *spec.Problem) {
		return nil, &spec.Problem{File: "environment variable " + name, Msg: fmt.Sprintf(format, args...)}
	}
	path := strings.Split(key, ".")
	t := configType
	for i, seg := range path {
		switch t.Kind() {
		case reflect.Struct:
			f, ok := fieldByTag(t, seg)
			if !ok || seg == "" {
				return bad("no setting %q%s (settings are read from %s)", strings.Join(path[:i+1], "."), suggest(name), strings.Join(envLevel(t, path[:i]), ", "))
			}
			t = f.Type
		case reflect.Map:
			t = t.Elem()
		case reflect.Interface:
			return value, nil // settings.custom: free-form
		default:
			return bad("no setting %q: %s is a single value (%s)", key, strings.Join(path[:i], "."), envName(path[:i]))
		}
	}
	where := strings.Join(path, ".")
	switch t.Kind() {
	case reflect.String, reflect.Interface:
		return value, nil
	case reflect.Int:
		n, err := strconv.Atoi(strings.TrimSpace(value))
		if err != nil {
			return bad("%s must be a whole number, not %q", where, value)
		}
		return n, nil
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(value))
		if err != nil {
			return bad("%s must be true or false, not %q", where, value)
		}
		return b, nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			var items []string
			for _, s := range strings.Split(value, ",") {
				if s = strings.TrimSpace(s); s != "" {
					items = append(items, s)
				}
			}
			return items, nil
		}
		return bad("%s is a list of sections: declare it in the configuration file (--config), not in the environment", where)
	}
	return bad("%s is a section, not a value: set its keys (%s)", where, strings.Join(envLevel(t, path), ", "))
}

// envLevel lists the environment variables one level under the type t at path, with
// __* after a section: OIMCONNECT_DB, ..., OIMCONNECT_SETTINGS__*.
func envLevel(t reflect.Type, path []string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("koanf")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		name := envName(append(append([]string{}, path...), tag))
		switch k := f.Type.Kind(); {
		case k == reflect.Struct || k == reflect.Map:
			name += "__*"
		case k == reflect.Slice && f.Type.Elem().Kind() != reflect.String:
			continue // plugins: the file only
		}
		out = append(out, name)
	}
	return out
}

// suggest names the variable closest to name, when one is a likely typo of it.
func suggest(name string) string {
	return fault.Closest(name, envNames(configType, nil))
}

// envName is the environment variable of a key path.
func envName(path []string) string {
	return EnvPrefix + strings.ToUpper(strings.Join(path, "__"))
}

// envNames lists the environment variables of every value under the type t at path,
// with <KEY> for the keys of a map: OIMCONNECT_SETTINGS__SCHEDULES__<FLOW>__AT.
func envNames(t reflect.Type, path []string) []string {
	var out []string
	var walk func(t reflect.Type, path []string)
	walk = func(t reflect.Type, path []string) {
		switch t.Kind() {
		case reflect.Struct:
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				if tag := f.Tag.Get("koanf"); tag != "" && tag != "-" && f.IsExported() {
					walk(f.Type, append(append([]string{}, path...), tag))
				}
			}
		case reflect.Map:
			walk(t.Elem(), append(append([]string{}, path...), mapKeyName(path)))
		case reflect.Slice:
			if t.Elem().Kind() == reflect.String {
				out = append(out, envName(path))
			}
		default:
			out = append(out, envName(path))
		}
	}
	walk(t, path)
	return out
}

// mapKeyName is the placeholder for a map's keys in envNames.
func mapKeyName(path []string) string {
	switch path[len(path)-1] {
	case "flows", "schedules":
		return "<FLOW>"
	}
	return "<KEY>"
}

func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.IsExported() && f.Tag.Get("koanf") == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// SetBy names what overrides the file for the value at path: "environment variable
// OIMCONNECT_...", "flag --..." or "" when the file (or the default) decides it. The
// console shows it beside a setting whose file value would not take effect.
func (c *Config) SetBy(path ...string) string {
	o := c.origin
	if o == nil {
		return ""
	}
	dotted := strings.Join(path, ".")
	for i := len(path); i > 0; i-- {
		at := strings.Join(path[:i], ".")
		if f, ok := o.flags[at]; ok {
			return "flag " + f
		}
		if v, ok := o.env[at]; ok {
			return "environment variable " + v
		}
	}
	if f, ok := setBy(o.flags, dotted); ok {
		return "flag " + f
	}
	if v, ok := setBy(o.env, dotted); ok {
		return "environment variable " + v
	}
	return ""
}
