package tlsutil

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestEnsureSelfSigned(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	now := time.Now()
	s, err := EnsureSelfSigned(dir, []string{"git.example.test", "10.1.2.3"}, now)
	if err != nil || !s.Created {
		t.Fatalf("first call: %+v, %v", s, err)
	}
	ca1, _ := os.ReadFile(s.CAFile)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca1) {
		t.Fatal("CA file is not PEM")
	}
	pair, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	for _, host := range []string{"localhost", "127.0.0.1", "::1", "git.example.test", "10.1.2.3"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: host}); err != nil {
			t.Errorf("certificate does not verify for %s: %v", host, err)
		}
	}
	if fi, _ := os.Stat(filepath.Join(dir, "ca-key.pem")); fi.Mode().Perm() != 0o600 {
		t.Errorf("CA key mode %v, want 0600", fi.Mode().Perm())
	}

	// Again with the same hosts: nothing changes.
	cert1, _ := os.ReadFile(s.CertFile)
	s2, err := EnsureSelfSigned(dir, []string{"git.example.test", "10.1.2.3"}, now)
	cert2, _ := os.ReadFile(s2.CertFile)
	if err != nil || s2.Created || !bytes.Equal(cert1, cert2) {
		t.Fatalf("second call changed the certificate (created %v, err %v)", s2.Created, err)
	}
	// A new host reissues the server certificate but keeps the CA, so
	// clients that trust it keep working.
	s3, err := EnsureSelfSigned(dir, []string{"other.example.test"}, now)
	ca3, _ := os.ReadFile(s3.CAFile)
	cert3, _ := os.ReadFile(s3.CertFile)
	if err != nil || !bytes.Equal(ca1, ca3) || bytes.Equal(cert1, cert3) {
		t.Fatalf("new host: CA kept %v, cert reissued %v, err %v", bytes.Equal(ca1, ca3), !bytes.Equal(cert1, cert3), err)
	}
	// Near expiry the server certificate is renewed.
	s4, err := EnsureSelfSigned(dir, []string{"other.example.test"}, now.AddDate(0, 11, 10))
	cert4, _ := os.ReadFile(s4.CertFile)
	if err != nil || bytes.Equal(cert3, cert4) {
		t.Fatalf("expiring certificate not renewed (err %v)", err)
	}
}
