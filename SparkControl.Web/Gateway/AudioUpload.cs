using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using SparkControl.Core.Gateway;

namespace SparkControl.Web.Gateway;

/// <summary>
/// A transcription upload read off the wire: its form fields in order, and its <c>file</c> written to a spool file
/// on disk as it arrives (never held in memory), so the gateway can check it, pick a worker, and send it again if a
/// worker refused the connection. The spool file goes when this is disposed.
/// </summary>
public sealed class AudioUpload : IAsyncDisposable
{
    /// <summary>Form fields are short (a prompt is at most 4,096 characters); anything bigger is not a field.</summary>
    /// <summary>The longest form field the gateway's routes take (a prompt, a language); other callers may allow more.</summary>
    public const int MaxFieldBytes = 64 * 1024;

    private const int MaxFields = 64;

    private readonly FileStream _spool;

    private AudioUpload(FileStream spool, List<KeyValuePair<string, string>> fields, string fileName, string format, long length)
    {
        _spool = spool;
        Fields = fields;
        FileName = fileName;
        Format = format;
        Length = length;
    }

    public IReadOnlyList<KeyValuePair<string, string>> Fields { get; }

    /// <summary>The file name the client gave (path parts removed), for the worker's multipart.</summary>
    public string FileName { get; }

    /// <summary>What the bytes are (<see cref="AudioFormat.Sniff"/>).</summary>
    public string Format { get; }

    public long Length { get; }

    public string? Model => Fields.LastOrDefault(f => f.Key == "model").Value;

    /// <summary>A fresh read of the spooled file from its start (for each attempt at a worker).</summary>
    public Stream OpenRead() => new FileStream(_spool.Name, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024, useAsync: true);

    public ValueTask DisposeAsync() => DiscardAsync(_spool);

    /// <summary>
    /// Closes (and so deletes) a spool file. Closing flushes what is buffered, which fails on a full disk: the file goes
    /// all the same, and the request has its answer already.
    /// </summary>
    private static async ValueTask DiscardAsync(FileStream spool)
    {
        try
        {
            await spool.DisposeAsync();
        }
        catch (IOException)
        {
            // Deleted on close regardless; see above.
        }
    }

    /// <summary>The upload, or the error to answer: not multipart, over <paramref name="limit"/>, no file, not audio.</summary>
    public static async Task<(AudioUpload? Upload, OpenAiError? Error)> ReadAsync(HttpContext context, long limit, string spoolDirectory, int maxFieldBytes = MaxFieldBytes)
    {
        if (!MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var type) || !type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(type.Boundary) is not { Length: > 0 and <= 200 } boundary)
        {
            return (null, Invalid("The body must be multipart/form-data with the fields file and model, as OpenAI's audio API takes them.", "invalid_body", null));
        }

        if (context.Request.ContentLength > limit)
        {
            // Refused on its declared length: not one byte of the body is read.
            return (null, TooLarge(limit));
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit;
        }

        FileStream spool;
        try
        {
            Directory.CreateDirectory(spoolDirectory);
            spool = new FileStream(Path.Combine(spoolDirectory, $"{Guid.NewGuid():N}.upload"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete, 64 * 1024,
                FileOptions.Asynchronous | FileOptions.DeleteOnClose);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (null, CannotStore(spoolDirectory, ex));
        }

        try
        {
            var (upload, error) = await ReadPartsAsync(context, boundary.ToString(), limit, spool, maxFieldBytes);
            if (upload is null)
            {
                await DiscardAsync(spool);
            }

            return (upload, error);
        }
        catch
        {
            await DiscardAsync(spool);
            throw;
        }
    }

    private static async Task<(AudioUpload?, OpenAiError?)> ReadPartsAsync(HttpContext context, string boundary, long limit, FileStream spool, int maxFieldBytes)
    {
        var reader = new MultipartReader(boundary, context.Request.Body) { BodyLengthLimit = limit };
        var fields = new List<KeyValuePair<string, string>>();
        string? fileName = null;
        try
        {
            while (await reader.ReadNextSectionAsync(context.RequestAborted) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) || HeaderUtilities.RemoveQuotes(disposition.Name).ToString() is not { Length: > 0 } name)
                {
                    return (null, Invalid("Every part of the form needs a Content-Disposition with a name.", "invalid_body", null));
                }

                if (disposition.IsFileDisposition())
                {
                    if (name != "file" || fileName is not null)
                    {
                        return (null, Invalid($"Only one file part, named file, is taken (got '{Core.Validation.Validators.Printable(name)}').", "invalid_body", "file"));
                    }

                    fileName = SafeName(HeaderUtilities.RemoveQuotes(disposition.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).ToString());
                    await CopyCappedAsync(section.Body, spool, limit, context.RequestAborted);
                }
                else if (fields.Count >= MaxFields || await ReadFieldAsync(section, maxFieldBytes) is not { } value)
                {
                    return (null, Invalid($"The form field '{Core.Validation.Validators.Printable(name)}' is longer than {maxFieldBytes:N0} bytes, or there are more than {MaxFields} fields.", "invalid_body", name));
                }
                else
                {
                    fields.Add(new(name, value));
                }
            }
        }
        catch (InvalidDataException) when (spool.Length > limit || context.Request.ContentLength > limit)
        {
            return (null, TooLarge(limit));
        }
        catch (InvalidDataException ex)
        {
            return (null, Invalid($"The multipart body is malformed: {ex.Message}", "invalid_body", null));
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge(limit));
        }
        catch (UploadTooLargeException)
        {
            return (null, TooLarge(limit));
        }
        catch (SpoolWriteException ex)
        {
            return (null, CannotStore(Path.GetDirectoryName(spool.Name)!, ex.InnerException!));
        }

        return await CheckAsync(spool, fields, fileName);
    }

    /// <summary>A file part is present and its first bytes are audio.</summary>
    private static async Task<(AudioUpload?, OpenAiError?)> CheckAsync(FileStream spool, List<KeyValuePair<string, string>> fields, string? fileName)
    {
        if (fileName is null)
        {
            return (null, Invalid("The form needs a file part named file: the audio to transcribe.", "missing_file", "file"));
        }

        var head = new byte[AudioFormat.HeaderBytes];
        spool.Position = 0;
        var read = await spool.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false);
        if (AudioFormat.NotAudio(head.AsSpan(0, read), fileName) is { } notAudio)
        {
            return (null, Invalid(notAudio, "invalid_audio", "file"));
        }

        return (new AudioUpload(spool, fields, fileName, AudioFormat.Sniff(head.AsSpan(0, read))!, spool.Length), null);
    }

    private static async Task CopyCappedAsync(Stream from, Stream to, long limit, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        long total = 0;
        int read;
        while ((read = await from.ReadAsync(buffer, cancellationToken)) > 0)
        {
            total += read;
            if (total > limit)
            {
                throw new UploadTooLargeException();
            }

            try
            {
                await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
            catch (IOException ex)
            {
                // The disk's fault (full, read-only), not the client's: told apart from a client that went away.
                throw new SpoolWriteException(ex);
            }
        }

        try
        {
            await to.FlushAsync(cancellationToken);
        }
        catch (IOException ex)
        {
            throw new SpoolWriteException(ex);
        }
    }

    /// <summary>A field's value as UTF-8 text; null when longer than <paramref name="maxFieldBytes"/>.</summary>
    private static async Task<string?> ReadFieldAsync(MultipartSection section, int maxFieldBytes)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[4096];
        int read;
        while ((read = await section.Body.ReadAsync(chunk)) > 0)
        {
            if (buffer.Length + read > maxFieldBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>The last path part, printable, at most 128 characters (it goes into the worker's multipart header).</summary>
    private static string SafeName(string name)
    {
        var last = name.Split('/', '\\')[^1];
        var clean = new string([.. last.Where(c => !char.IsControl(c) && c != '"')]);
        return clean.Length == 0 ? "audio" : clean[..Math.Min(clean.Length, 128)];
    }

    public static OpenAiError TooLarge(long limit) =>
        new(StatusCodes.Status413PayloadTooLarge, $"The upload is larger than this route allows ({limit:N0} bytes; Gateway:MaxTranscriptionBytes / MaxTranslationBytes).", "invalid_request_error", "request_too_large");

    private static OpenAiError Invalid(string message, string code, string? param) =>
        new(StatusCodes.Status400BadRequest, message, "invalid_request_error", code) { Param = param };

    /// <summary>503: the data directory cannot take the upload (full, read-only); the message says which and why.</summary>
    private static OpenAiError CannotStore(string spoolDirectory, Exception ex) =>
        new(StatusCodes.Status503ServiceUnavailable, $"The panel cannot store the upload in {spoolDirectory}: {Core.Storage.DataDirectory.Describe(ex)}. Free space there or fix its permissions, then retry.",
            "server_error", "storage_unavailable");

    private sealed class UploadTooLargeException : Exception;

    private sealed class SpoolWriteException(IOException inner) : Exception(inner.Message, inner);
}
