// Package transforms holds the built-in functions a spec may call where an expression
// alone is not enough, one file per function. Each registers itself with
// compile.Register, the same call a tenant's Go code uses for its own; the engine
// imports this package, so every engine has them.
package transforms
