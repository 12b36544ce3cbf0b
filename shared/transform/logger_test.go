package transform

import (
	"io"
	"log/slog"
)

func jsonLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }
