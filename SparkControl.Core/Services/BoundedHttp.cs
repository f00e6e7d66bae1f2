using System.Net.Http.Headers;
using System.Text;

namespace SparkControl.Core.Services;

/// <summary>A reply from a model server that is larger than the panel reads from it.</summary>
public sealed class ReplyTooLargeException(Uri uri, int limit)
    : HttpRequestException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{uri.GetLeftPart(UriPartial.Path)} answered more than {limit / 1024:N0} KiB; the panel reads at most that much from a model server"));

/// <summary>
/// Reads a model server's reply to a probe or a metrics scrape with a cap: a server (or anything listening on its
/// port) cannot make the panel hold an unbounded body. The headers first, then at most <c>limit</c> bytes.
/// </summary>
public static class BoundedHttp
{
    /// <summary>A <c>/v1/models</c> list: names of a few models.</summary>
    public const int ModelsLimit = 1 << 20;

    /// <summary>A Prometheus text page of one vLLM server (histograms included) is some hundred KiB.</summary>
    public const int MetricsLimit = 8 << 20;

    public static async Task<(HttpResponseMessage Response, byte[] Body)> GetAsync(HttpClient http, Uri uri, int limit, CancellationToken cancellationToken)
    {
        var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        try
        {
            if (response.Content.Headers.ContentLength > limit)
            {
                throw new ReplyTooLargeException(uri, limit);
            }

            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using var disposeStream = stream.ConfigureAwait(false);
            var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    throw new ReplyTooLargeException(uri, limit);
                }

                buffer.Write(chunk, 0, read);
            }

            return (response, buffer.ToArray());
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    public static string Text(byte[] body, HttpContentHeaders headers) =>
        (headers.ContentType?.CharSet is { Length: > 0 } charset ? Encoding.GetEncoding(charset.Trim('"')) : Encoding.UTF8).GetString(body);
}
