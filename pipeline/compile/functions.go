package compile

import (
	"fmt"
	"sort"
	"sync"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
)

// Function is a named function callable from spec expressions where an expression
// alone is not enough. It compiles to SQL, so the work stays set-based inside DuckDB.
// The built-in functions (package transforms) register through Register, as a
// tenant's Go code does.
type Function struct {
	Name string
	// Doc is shown by validate and in the spec reference: what it does and why.
	Doc string
	// Args names the parameters, for messages and docs.
	Args []string
	// Result checks the argument types and gives the result type (Want helps).
	Result func(args []catalog.Type) (catalog.Type, error)
	// SQL renders the call from its compiled arguments.
	SQL func(args []string) string
	// Window, when set instead of SQL, renders a function over the sibling lines of the
	// same record: partition is the SQL of the record key, order of the line key. Such a
	// function can only be used on lines.
	Window func(args []string, partition, order string) string
}

var (
	mu    sync.RWMutex
	funcs = map[string]Function{}
)

// Register adds a function; registering a name twice panics (a programming error).
func Register(f Function) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := funcs[f.Name]; dup {
		panic("compile: function " + f.Name + " registered twice")
	}
	funcs[f.Name] = f
}

// FunctionNamed finds a registered function by name.
func FunctionNamed(name string) (Function, bool) {
	mu.RLock()
	defer mu.RUnlock()
	f, ok := funcs[name]
	return f, ok
}

// Functions are the registered functions, sorted by name.
func Functions() []Function {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]Function, 0, len(funcs))
	for _, f := range funcs {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Want checks a call's argument types against the kinds a function takes (catalog.Any
// takes every kind; nil fits every kind).
func Want(name string, args []catalog.Type, kinds ...catalog.Kind) error {
	if len(args) != len(kinds) {
		return fmt.Errorf("%s takes %d argument(s), got %d", name, len(kinds), len(args))
	}
	for i, k := range kinds {
		if k != catalog.Any && args[i].Kind != k && args[i].Kind != catalog.Nil && args[i].Kind != catalog.Any {
			return fmt.Errorf("%s: argument %d must be a %s, got a %s", name, i+1, k, args[i].Kind)
		}
	}
	return nil
}

// whitespace is what counts as blank, as Go's unicode.IsSpace has it for Latin-1.
const whitespace = "' \t\n\v\f\r' || chr(133) || chr(160)"

// TrimSQL strips leading and trailing whitespace (tabs and line breaks too).
func TrimSQL(s string) string { return "trim(" + s + ", " + whitespace + ")" }

// BlankSQL is true when s is nil or only whitespace.
func BlankSQL(s string) string {
	return "(" + TrimSQL("CAST("+s+" AS VARCHAR)") + " = '' IS NOT FALSE)"
}
