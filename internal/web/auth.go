package web

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

// setupData is the first-run form.
type setupData struct {
	Code   string
	Login  string
	Email  string
	Name   string
	Errors formErrors
}

func (h *Handler) handleSetupForm(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("code")
	if !h.cfg.Service.CheckSetup(r.Context(), code) {
		h.renderError(w, r, http.StatusNotFound, "setup.invalid")
		return
	}
	h.render(w, r, http.StatusOK, "setup", "setup.title", "", &setupData{Code: code})
}

func (h *Handler) handleSetup(w http.ResponseWriter, r *http.Request) {
	if !h.checkCSRF(r) {
		h.renderError(w, r, http.StatusForbidden, "error.csrf")
		return
	}
	loc := stateOf(r).loc
	d := &setupData{
		Code:   r.PostFormValue("code"),
		Login:  strings.TrimSpace(r.PostFormValue("login")),
		Email:  strings.TrimSpace(r.PostFormValue("email")),
		Name:   strings.TrimSpace(r.PostFormValue("name")),
		Errors: formErrors{},
	}
	if !h.cfg.Service.CheckSetup(r.Context(), d.Code) {
		h.renderError(w, r, http.StatusNotFound, "setup.invalid")
		return
	}
	pw := r.PostFormValue("password")
	if !gatehouse.ValidLogin(d.Login) {
		d.Errors["login"] = loc.T("form.login_invalid")
	}
	if !validEmail(d.Email) {
		d.Errors["email"] = loc.T("form.email_invalid")
	}
	if len(pw) < 8 {
		d.Errors["password"] = loc.T("form.password_short")
	} else if pw != r.PostFormValue("password_confirm") {
		d.Errors["password_confirm"] = loc.T("form.password_mismatch")
	}
	if d.Errors.Any() {
		h.render(w, r, http.StatusUnprocessableEntity, "setup", "setup.title", "", d)
		return
	}
	u, err := h.cfg.Service.CompleteSetup(r.Context(), d.Code, service.NewUser{Login: d.Login, Email: d.Email, Name: d.Name, Password: pw})
	if err != nil {
		switch gatehouse.ErrorKind(err) {
		case gatehouse.Forbidden:
			h.renderError(w, r, http.StatusNotFound, "setup.invalid")
		case gatehouse.Invalid, gatehouse.Conflict:
			d.Errors[""] = gatehouse.ErrorMessage(err)
			h.render(w, r, http.StatusUnprocessableEntity, "setup", "setup.title", "", d)
		default:
			h.serverError(w, r, err)
		}
		return
	}
	if err := h.startSession(w, r, u); err != nil {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func validEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at < len(s)-1 && !strings.ContainsAny(s, " \t\r\n")
}

// loginData is the sign-in form.
type loginData struct {
	Login    string
	ReturnTo string
	Error    string
}

func (h *Handler) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	ret := safeReturn(r.URL.Query().Get("return_to"))
	if viewer(r) != nil {
		http.Redirect(w, r, ret, http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "login", "login.title", "", &loginData{ReturnTo: ret})
}

func (h *Handler) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !h.checkCSRF(r) {
		h.renderError(w, r, http.StatusForbidden, "error.csrf")
		return
	}
	loc := stateOf(r).loc
	d := &loginData{Login: strings.TrimSpace(r.PostFormValue("login")), ReturnTo: safeReturn(r.PostFormValue("return_to"))}
	ip := h.cfg.Network.ClientIP(r)
	if h.cfg.Throttle.Locked(ip) {
		d.Error = loc.T("login.locked")
		h.render(w, r, http.StatusTooManyRequests, "login", "login.title", "", d)
		return
	}
	u, err := h.cfg.Store.FindUserByLogin(r.Context(), d.Login)
	if err != nil && !gatehouse.IsKind(err, gatehouse.NotFound) {
		h.serverError(w, r, err)
		return
	}
	if err != nil {
		u = nil
	}
	if !service.CheckPassword(u, r.PostFormValue("password")) {
		f := service.AuthFailure{IP: ip, Reason: service.ReasonPassword}
		if u != nil {
			f.UserID = u.ID
		}
		h.cfg.Service.RecordAuthFailure(r.Context(), f)
		d.Error = loc.T("login.failed")
		status := http.StatusUnauthorized
		if h.cfg.Throttle.Failed(ip) {
			d.Error, status = loc.T("login.locked"), http.StatusTooManyRequests
		}
		h.render(w, r, status, "login", "login.title", "", d)
		return
	}
	if u.Suspended {
		d.Error = loc.T("login.suspended")
		h.render(w, r, http.StatusForbidden, "login", "login.title", "", d)
		return
	}
	if err := h.startSession(w, r, u); err != nil {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, d.ReturnTo, http.StatusSeeOther)
}

func (h *Handler) handleLogout(w http.ResponseWriter, r *http.Request) {
	if s := session(r); s != nil {
		if err := h.cfg.Sessions.DeleteSession(r.Context(), s.ID); err != nil {
			h.serverError(w, r, err)
			return
		}
	}
	h.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// sudoData is the password prompt of sudo mode.
type sudoData struct {
	ReturnTo string
	Error    string
}

func (h *Handler) renderSudo(w http.ResponseWriter, r *http.Request, returnTo, errMsg string, status int) {
	h.render(w, r, status, "sudo", "sudo.title", "", &sudoData{ReturnTo: safeReturn(returnTo), Error: errMsg})
}

func (h *Handler) handleSudoForm(w http.ResponseWriter, r *http.Request) {
	h.renderSudo(w, r, r.URL.Query().Get("return_to"), "", http.StatusOK)
}

func (h *Handler) handleSudo(w http.ResponseWriter, r *http.Request) {
	loc := stateOf(r).loc
	ret := safeReturn(r.PostFormValue("return_to"))
	ip := h.cfg.Network.ClientIP(r)
	if h.cfg.Throttle.Locked(ip) {
		h.renderSudo(w, r, ret, loc.T("login.locked"), http.StatusTooManyRequests)
		return
	}
	if !service.CheckPassword(viewer(r), r.PostFormValue("password")) {
		h.cfg.Service.RecordAuthFailure(r.Context(), service.AuthFailure{IP: ip, UserID: viewer(r).ID, Reason: service.ReasonSudoPassword})
		msg, status := loc.T("sudo.failed"), http.StatusUnauthorized
		if h.cfg.Throttle.Failed(ip) {
			msg, status = loc.T("login.locked"), http.StatusTooManyRequests
		}
		h.renderSudo(w, r, ret, msg, status)
		return
	}
	s := session(r)
	s.SudoUntil = h.now().Add(sudoLifetime)
	s.SeenAt = h.now()
	if err := h.cfg.Sessions.UpdateSession(r.Context(), s); err != nil {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, ret, http.StatusSeeOther)
}
