package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/fairmesh/fairmesh/internal/strictjson"
)

// writeJSON writes v with the given status. Encoding errors after the
// header is sent can only be logged by the server, so they are ignored.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg, field string) {
	writeJSON(w, status, Error{Error: msg, Field: field})
}

// badInput is a refusal of the request: a status, a message and the field
// at fault.
type badInput struct {
	status int
	msg    string
	field  string
}

func (e *badInput) write(w http.ResponseWriter) { writeError(w, e.status, e.msg, e.field) }

func invalid(field, format string, args ...any) *badInput {
	return &badInput{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...), field: field}
}

// decodeBody reads one JSON value from the capped request body into dst,
// rejecting unknown fields, a key given twice and trailing data.
func (h *handler) decodeBody(w http.ResponseWriter, r *http.Request, dst any) *badInput {
	return decodeBodyMax(w, r, dst, h.maxBody)
}

// decodeBodyMax is decodeBody with its own cap on the body.
func decodeBodyMax(w http.ResponseWriter, r *http.Request, dst any, maxBytes int64) *badInput {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
	if err != nil {
		return jsonError(err, "")
	}
	if dup := strictjson.DuplicateKey(raw); dup != "" {
		return invalid(dup, "%s is given twice; give each field once", dup)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err, "")
	}
	if err := dec.Decode(&json.RawMessage{}); err != io.EOF {
		if err == nil {
			return invalid("body", "request body holds more than one JSON value")
		}
		return jsonError(err, "")
	}
	return nil
}

// decodeStrict decodes one element of a larger document (a batch item),
// naming fields under prefix.
func decodeStrict(raw []byte, dst any, prefix string) *badInput {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err, prefix)
	}
	return nil
}

// jsonError turns a decoding error into a refusal naming the field.
func jsonError(err error, prefix string) *badInput {
	var (
		tooBig  *http.MaxBytesError
		typeErr *json.UnmarshalTypeError
		syntax  *json.SyntaxError
	)
	field := func(name string) string {
		switch {
		case prefix == "" && name == "":
			return "body"
		case name == "":
			return prefix
		case prefix == "":
			return name
		}
		return prefix + "." + name
	}
	switch {
	case errors.As(err, &tooBig):
		return &badInput{status: http.StatusRequestEntityTooLarge,
			msg: fmt.Sprintf("request body exceeds %d bytes", tooBig.Limit), field: "body"}
	case errors.Is(err, io.EOF):
		return invalid("body", "request body is empty")
	case errors.As(err, &typeErr):
		return invalid(field(typeErr.Field), "%s must be %s, not %s", field(typeErr.Field), article(typeErr.Type.String()), typeErr.Value)
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("body", "malformed JSON: %v", err)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if unq, uerr := strconv.Unquote(name); uerr == nil {
			name = unq
		}
		return invalid(field(name), "unknown field %q", field(name))
	}
	return invalid("body", "invalid JSON: %v", err)
}

func article(goType string) string {
	switch goType {
	case "int", "*int", "int64", "uint64":
		return "an integer"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	}
	if strings.HasPrefix(goType, "[]") {
		return "an array"
	}
	return "an object"
}
