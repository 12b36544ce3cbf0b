package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Sentinel errors of a Store.
var (
	ErrNotFound     = errors.New("object not found")
	ErrPrecondition = errors.New("precondition failed")
)

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Key          string
	ETag         string // without quotes
	VersionID    string
	Size         int64
	LastModified time.Time
}

// PutOptions are the conditions and headers of a Put.
type PutOptions struct {
	IfNoneMatch bool   // create only (If-None-Match: *)
	IfMatch     string // replace only this ETag
	ContentType string
}

// Store is the object storage the lake needs: S3 in production, moto in
// tests.
type Store interface {
	// Get opens an object (version may be empty).
	Get(ctx context.Context, bucket, key, version string) (io.ReadCloser, ObjectInfo, error)
	// Put writes an object of size bytes from body and returns its ETag.
	Put(ctx context.Context, bucket, key string, body io.ReadSeeker, size int64, opts PutOptions) (string, error)
	// Delete removes an object; with ifMatch only if its ETag is that. A
	// missing object is not an error.
	Delete(ctx context.Context, bucket, key, ifMatch string) error
	// List returns every object under prefix, in key order.
	List(ctx context.Context, bucket, prefix string) ([]ObjectInfo, error)
	// ListDirs returns the "directories" right under prefix (common
	// prefixes with delimiter "/"), in key order.
	ListDirs(ctx context.Context, bucket, prefix string) ([]string, error)
}

// S3API is the part of the S3 client the store uses.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, opts ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

var _ S3API = (*s3.Client)(nil)

// S3Store is a Store on the AWS SDK's S3 client.
type S3Store struct {
	Client S3API
}

var _ Store = (*S3Store)(nil)

// Get implements Store.
func (s *S3Store) Get(ctx context.Context, bucket, key, version string) (io.ReadCloser, ObjectInfo, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if version != "" {
		in.VersionId = aws.String(version)
	}
	out, err := s.Client.GetObject(ctx, in)
	if err != nil {
		return nil, ObjectInfo{}, s3Error("get", bucket, key, err)
	}
	return out.Body, ObjectInfo{
		Key:          key,
		ETag:         trimETag(aws.ToString(out.ETag)),
		VersionID:    aws.ToString(out.VersionId),
		Size:         aws.ToInt64(out.ContentLength),
		LastModified: aws.ToTime(out.LastModified),
	}, nil
}

// Put implements Store.
func (s *S3Store) Put(ctx context.Context, bucket, key string, body io.ReadSeeker, size int64, opts PutOptions) (string, error) {
	in := &s3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(key),
		Body:          body,
		ContentLength: aws.Int64(size),
	}
	if opts.ContentType != "" {
		in.ContentType = aws.String(opts.ContentType)
	}
	if opts.IfNoneMatch {
		in.IfNoneMatch = aws.String("*")
	}
	if opts.IfMatch != "" {
		in.IfMatch = aws.String(`"` + opts.IfMatch + `"`)
	}
	out, err := s.Client.PutObject(ctx, in)
	if err != nil {
		return "", s3Error("put", bucket, key, err)
	}
	return trimETag(aws.ToString(out.ETag)), nil
}

// Delete implements Store.
func (s *S3Store) Delete(ctx context.Context, bucket, key, ifMatch string) error {
	in := &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if ifMatch != "" {
		in.IfMatch = aws.String(`"` + ifMatch + `"`)
	}
	_, err := s.Client.DeleteObject(ctx, in)
	if err != nil {
		err = s3Error("delete", bucket, key, err)
		if errors.Is(err, ErrNotFound) && ifMatch == "" {
			return nil
		}
		return err
	}
	return nil
}

// List implements Store.
func (s *S3Store) List(ctx context.Context, bucket, prefix string) ([]ObjectInfo, error) {
	var out []ObjectInfo
	p := s3.NewListObjectsV2Paginator(s.Client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s3Error("list", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			out = append(out, ObjectInfo{
				Key:          aws.ToString(o.Key),
				ETag:         trimETag(aws.ToString(o.ETag)),
				Size:         aws.ToInt64(o.Size),
				LastModified: aws.ToTime(o.LastModified),
			})
		}
	}
	return out, nil
}

// ListDirs implements Store.
func (s *S3Store) ListDirs(ctx context.Context, bucket, prefix string) ([]string, error) {
	var out []string
	p := s3.NewListObjectsV2Paginator(s.Client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s3Error("list", bucket, prefix, err)
		}
		for _, cp := range page.CommonPrefixes {
			out = append(out, aws.ToString(cp.Prefix))
		}
	}
	return out, nil
}

// s3Error wraps an SDK error with the operation and object, mapping "not
// found" and "precondition failed" to the sentinels.
func s3Error(op, bucket, key string, err error) error {
	var sentinel error
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchKey", "NotFound":
			sentinel = ErrNotFound
		case "PreconditionFailed", "ConditionalRequestConflict":
			sentinel = ErrPrecondition
		}
	}
	var re *smithyhttp.ResponseError
	if sentinel == nil && errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusNotFound:
			if api == nil || api.ErrorCode() != "NoSuchBucket" {
				sentinel = ErrNotFound
			}
		case http.StatusPreconditionFailed, http.StatusConflict:
			sentinel = ErrPrecondition
		}
	}
	if sentinel != nil {
		return fmt.Errorf("%s s3://%s/%s: %w: %w", op, bucket, key, sentinel, err)
	}
	return fmt.Errorf("%s s3://%s/%s: %w", op, bucket, key, err)
}

func trimETag(s string) string { return strings.Trim(s, `"`) }
