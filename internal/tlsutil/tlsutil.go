// Package tlsutil creates and loads the certificates Gatehouse serves HTTPS
// with: either files the operator provides, or a local certificate
// authority kept in the data dir that signs a certificate for this host.
package tlsutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// SelfSigned is the result of EnsureSelfSigned.
type SelfSigned struct {
	CAFile   string // the CA certificate clients should trust
	CertFile string
	KeyFile  string
	Created  bool // the CA was created by this call
}

// EnsureSelfSigned keeps a local CA in dir (created once, valid ten years)
// and a server certificate it signs for localhost, 127.0.0.1, ::1 and
// hosts. The server certificate is reissued when it is missing, expires
// within 30 days or lacks one of hosts; the CA is never replaced, so clients
// that trust it keep working.
func EnsureSelfSigned(dir string, hosts []string, now time.Time) (*SelfSigned, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create TLS dir: %w", err)
	}
	s := &SelfSigned{
		CAFile:   filepath.Join(dir, "ca.pem"),
		CertFile: filepath.Join(dir, "cert.pem"),
		KeyFile:  filepath.Join(dir, "key.pem"),
	}
	caKeyFile := filepath.Join(dir, "ca-key.pem")
	caCert, caKey, err := loadPair(s.CAFile, caKeyFile)
	if errors.Is(err, os.ErrNotExist) {
		caCert, caKey, err = newCA(now)
		if err == nil {
			err = writePair(s.CAFile, caKeyFile, caCert, caKey)
		}
		s.Created = true
	}
	if err != nil {
		return nil, fmt.Errorf("local certificate authority: %w", err)
	}
	names := append([]string{"localhost", "127.0.0.1", "::1"}, hosts...)
	if cert, _, err := loadPair(s.CertFile, s.KeyFile); err == nil && !s.Created && covers(cert, names) &&
		now.Add(30*24*time.Hour).Before(cert.NotAfter) && cert.CheckSignatureFrom(caCert) == nil {
		return s, nil
	}
	cert, key, err := newLeaf(caCert, caKey, names, now)
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	if err := writePair(s.CertFile, s.KeyFile, cert, key); err != nil {
		return nil, err
	}
	return s, nil
}

func covers(c *x509.Certificate, names []string) bool {
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			if !slices.ContainsFunc(c.IPAddresses, ip.Equal) {
				return false
			}
		} else if !slices.Contains(c.DNSNames, n) {
			return false
		}
	}
	return true
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

func newCA(now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Gatehouse local CA (" + host + ")", Organization: []string{"Gatehouse"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	c, err := x509.ParseCertificate(der)
	return c, key, err
}

func newLeaf(ca *x509.Certificate, caKey *ecdsa.PrivateKey, names []string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: names[0], Organization: []string{"Gatehouse"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if !slices.Contains(tmpl.DNSNames, n) {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	c, err := x509.ParseCertificate(der)
	return c, key, err
}

func writePair(certFile, keyFile string, cert *x509.Certificate, key *ecdsa.PrivateKey) error {
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeAtomic(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return err
	}
	return writeAtomic(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644)
}

func writeAtomic(name string, data []byte, mode os.FileMode) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

func loadPair(certFile, keyFile string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		if _, serr := os.Stat(certFile); errors.Is(serr, os.ErrNotExist) {
			return nil, nil, serr
		}
		return nil, nil, err
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("%s: not an ECDSA key", keyFile)
	}
	c, err := x509.ParseCertificate(pair.Certificate[0])
	return c, key, err
}

// Config returns a server TLS configuration for a certificate and key file
// pair, reloading nothing: restart to pick up a renewed certificate.
func Config(certFile, keyFile string) (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12, CipherSuites: CipherSuites}, nil
}

// CipherSuites are the TLS 1.2 suites served: forward-secret key exchange
// with AEAD ciphers only, so no CBC mode and no SHA-1 MAC. TLS 1.3 suites
// are not configurable and are all of that kind.
var CipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}
