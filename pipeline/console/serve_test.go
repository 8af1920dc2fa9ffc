package console

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline/fault"
)

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files.
func selfSigned(t *testing.T, dir string) (cert, key string, pool *x509.CertPool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "oimconnect console"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "console.crt"), filepath.Join(dir, "console.key")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	parsed, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(parsed)
	return cert, key, pool
}

// With a certificate and key the console serves HTTPS only: the session cookie is
// Secure and browsers are told to keep to HTTPS; it stops when its context ends. A key
// that does not load is refused at its place in the file.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := selfSigned(t, dir)
	h := newHarness(t, func(s string) string {
		return strings.Replace(s, "console:\n", "console:\n  listen: 127.0.0.1:0\n  tls_cert: "+cert+"\n  tls_key: "+key+"\n", 1)
	})
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- h.srv.Serve(ctx, func(a string) { addr <- a }) }()
	base := "https://" + <-addr
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.PostForm(base+"/login", url.Values{"name": {"vic"}, "password": {password("vic")}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.TLS == nil || !strings.Contains(res.Header.Get("Set-Cookie"), "; Secure") ||
		res.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("login over TLS: %d %q %q", res.StatusCode, res.Header.Get("Set-Cookie"), res.Header.Get("Strict-Transport-Security"))
	}
	if plain, err := http.Get("http://" + strings.TrimPrefix(base, "https://") + "/login"); err == nil {
		plain.Body.Close()
		if plain.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP is served too")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("stop: %v", err)
	}

	if err := os.WriteFile(key, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = h.srv.Serve(context.Background(), nil)
	if fault.ExitStatus(err) != fault.ExitInput || !strings.Contains(err.Error(), h.file+":") || !strings.Contains(err.Error(), "console: TLS certificate and key:") {
		t.Errorf("a bad key: %v", err)
	}
}
