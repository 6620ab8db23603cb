package web

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// identicon draws the avatar for a login: a 5×5 grid mirrored left to
// right, cells and colour taken from the SHA-256 of the lowercased login,
// so that it is stable, distinct and needs no upload or outside service.
func identicon(login string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(login)))
	hue := (int(sum[0])<<8 | int(sum[1])) % 360
	sat := 45 + int(sum[2])%20
	light := 45 + int(sum[3])%12
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 6 6" width="96" height="96" shape-rendering="crispEdges">`)
	fmt.Fprintf(&b, `<rect width="6" height="6" fill="#f0f0f0"/>`)
	fill := fmt.Sprintf("hsl(%d,%d%%,%d%%)", hue, sat, light)
	bit := 0
	for col := 0; col < 3; col++ {
		for row := 0; row < 5; row++ {
			on := sum[4+bit/8]>>(bit%8)&1 == 1
			bit++
			if !on {
				continue
			}
			fmt.Fprintf(&b, `<rect x="%g" y="%g" width="1" height="1" fill="%s"/>`, 0.5+float64(col), 0.5+float64(row), fill)
			if col != 2 {
				fmt.Fprintf(&b, `<rect x="%g" y="%g" width="1" height="1" fill="%s"/>`, 0.5+float64(4-col), 0.5+float64(row), fill)
			}
		}
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func (h *Handler) handleAvatar(w http.ResponseWriter, r *http.Request) {
	login := r.PathValue("login")
	if !gatehouse.ValidLogin(login) {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	// An SVG opened directly must not run anything.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Write([]byte(identicon(login)))
}
