package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"

	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fault"
)

// stdin is where `oimconnect user` reads passwords.
var stdin io.Reader = os.Stdin

// passwordCost is the bcrypt cost of the hashes `oimconnect user` writes: about a
// quarter of a second per login attempt on this kind of machine, far more for a guesser.
const passwordCost = 12

// minPassword is the shortest password accepted; maxPasswordBytes the longest, in
// bytes: bcrypt reads no more than 72 and refuses a longer one.
const (
	minPassword      = 10
	maxPasswordBytes = 72
)

// doUser is `oimconnect user add|passwd|remove`: it changes console.users in the
// configuration file, writing only password hashes.
func doUser(_ context.Context, inv *invocation) int {
	o := inv.opt
	switch {
	case o.action == "":
		return refuse(inv.cmd, inv.stderr, errors.New("give the action: add, passwd or remove"))
	case o.config == "":
		return refuse(inv.cmd, inv.stderr, errors.New("--config FILE is required: the configuration file holding the users"))
	case !config.ValidUserName(o.name):
		return refuse(inv.cmd, inv.stderr, fmt.Errorf("--name must be 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit, got %q", o.name))
	case o.role != "" && config.RoleRank(o.role) == 0:
		return refuse(inv.cmd, inv.stderr, fmt.Errorf("--role must be one of %s, got %q", strings.Join(config.Roles, ", "), o.role))
	case o.role != "" && o.action == "remove":
		return refuse(inv.cmd, inv.stderr, errors.New("--role is for add and passwd"))
	}
	users, err := currentUsers(o.config, o.action == "add")
	if err != nil {
		return fail(inv.stderr, err)
	}
	i := slicesIndex(users, o.name)
	switch {
	case o.action == "add" && i >= 0:
		return fail(inv.stderr, fault.Inputf("%s: user %s exists already: set a password with `oimconnect user passwd`", o.config, o.name))
	case o.action != "add" && i < 0:
		return fail(inv.stderr, fault.Inputf("%s: no user %s (users: %s)", o.config, o.name, strings.Join(users, ", ")))
	}
	var hash string
	if o.action != "remove" {
		pw, err := readPassword(inv, o.name)
		if err != nil {
			return fail(inv.stderr, err)
		}
		h, err := bcrypt.GenerateFromPassword([]byte(pw), passwordCost)
		if err != nil {
			return fail(inv.stderr, fmt.Errorf("hash the password: %w", err))
		}
		hash = string(h)
	}
	if err := saveUser(o, hash); err != nil {
		return fail(inv.stderr, err)
	}
	switch o.action {
	case "add":
		fmt.Fprintf(inv.stdout, "user %s added as %s to %s\n", o.name, or(o.role, config.RoleViewer), o.config)
	case "passwd":
		fmt.Fprintf(inv.stdout, "password of %s set in %s\n", o.name, o.config)
	default:
		fmt.Fprintf(inv.stdout, "user %s removed from %s\n", o.name, o.config)
	}
	return fault.ExitOK
}

// currentUsers are the users of the configuration file, which must load as it is; a
// missing file has none (when missingOK).
func currentUsers(file string, missingOK bool) ([]string, error) {
	if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		if missingOK {
			return nil, nil
		}
		return nil, fault.Inputf("config: %s does not exist", file)
	}
	cfg, err := config.Load(file, nil)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, u := range cfg.Console.Users {
		names = append(names, u.Name)
	}
	return names, nil
}

// userEntry is a user as the file holds it, keys in this order.
type userEntry struct {
	Name         string `yaml:"name"`
	Role         string `yaml:"role"`
	PasswordHash string `yaml:"password_hash"`
}

// saveUser makes the change in the file's YAML, checks the result as any command
// would load it, and saves it all at once. The user is found by name in the file as
// read here, not at the position read before the password was typed: the console or
// another `oimconnect user` may have changed the list meanwhile.
func saveUser(o *options, hash string) error {
	doc, err := config.ReadDocument(o.config)
	if err != nil {
		return fault.Input(err)
	}
	i, err := doc.Index("name", o.name, "console", "users")
	switch {
	case err != nil:
		return fault.Input(err)
	case o.action == "add" && i >= 0:
		return fault.Inputf("%s: user %s was added meanwhile: nothing was changed", o.config, o.name)
	case o.action != "add" && i < 0:
		return fault.Inputf("%s: user %s was removed meanwhile: nothing was changed", o.config, o.name)
	}
	at := func(key ...string) []string { return append([]string{"console", "users", strconv.Itoa(i)}, key...) }
	switch o.action {
	case "add":
		err = doc.Append(userEntry{Name: o.name, Role: or(o.role, config.RoleViewer), PasswordHash: hash}, "console", "users")
	case "passwd":
		err = doc.Set(hash, at("password_hash")...)
		if err == nil && o.role != "" {
			err = doc.Set(o.role, at("role")...)
		}
	case "remove":
		err = doc.Delete(at()...)
	}
	if err != nil {
		return fault.Input(err)
	}
	data, err := doc.Bytes()
	if err != nil {
		return err
	}
	if _, err := config.LoadData(o.config, data, nil); err != nil {
		return err
	}
	return config.WriteFileAtomic(o.config, data)
}

// readPassword reads the new password: typed twice without echo on a terminal, the
// first line of standard input otherwise.
func readPassword(inv *invocation, name string) (string, error) {
	var pw string
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(inv.stderr, "New password for %s: ", name)
		first, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(inv.stderr)
		if err != nil {
			return "", fmt.Errorf("read the password: %w", err)
		}
		fmt.Fprint(inv.stderr, "Again: ")
		again, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(inv.stderr)
		if err != nil {
			return "", fmt.Errorf("read the password: %w", err)
		}
		if string(first) != string(again) {
			return "", fault.Inputf("the passwords differ: nothing was changed")
		}
		pw = string(first)
	} else {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read the password: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if len([]rune(pw)) < minPassword {
		return "", fault.Inputf("the password must have at least %d characters (read from standard input): nothing was changed", minPassword)
	}
	if len(pw) > maxPasswordBytes {
		return "", fault.Inputf("the password must have at most %d bytes (bcrypt reads no more), it has %d: nothing was changed", maxPasswordBytes, len(pw))
	}
	return pw, nil
}

func slicesIndex(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
