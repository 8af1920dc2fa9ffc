// Package transforms holds the named functions a spec may call where an expression
// alone is not enough. Every function compiles to SQL, so the engine keeps its work
// set-based inside DuckDB; built-in functions register through the same Register call
// a tenant's Go code uses.
package transforms

import (
	"fmt"
	"sort"
	"sync"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
)

// Function is a named function callable from spec expressions.
type Function struct {
	Name string
	// Doc is shown by validate and in the spec reference: what it does and why.
	Doc string
	// Args names the parameters, for messages and docs.
	Args []string
	// Result checks the argument types and gives the result type.
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
		panic("transforms: duplicate function " + f.Name)
	}
	funcs[f.Name] = f
}

// Lookup finds a registered function by name.
func Lookup(name string) (Function, bool) {
	mu.RLock()
	defer mu.RUnlock()
	f, ok := funcs[name]
	return f, ok
}

// Names lists the registered functions, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(funcs))
	for n := range funcs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func want(name string, args []catalog.Type, kinds ...catalog.Kind) error {
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
