using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Yarp.ReverseProxy.Forwarder;

namespace SparkControl.Web.Gateway;

/// <summary>An error as OpenAI clients expect it: <c>{"error":{"message","type","param","code"}}</c>.</summary>
public sealed record OpenAiError(int Status, string Message, string Type, string Code)
{
    public string? Param { get; init; }

    public object Body() => new { error = new { message = Message, type = Type, param = Param, code = Code } };
}

/// <summary>
/// YARP's default transforms, except for failures: every upstream error reaches the client as an OpenAI-style error.
/// vLLM answers <c>{"error":{…}}</c> (older versions <c>{"object":"error",…}</c>, its key check
/// <c>{"error":"Unauthorized"}</c>), a proxy may answer HTML, a crashed server a Python traceback. A client error (4xx)
/// keeps the server's message, which says what was wrong with the request, minus the server's address; a server error
/// (5xx) gets a message of ours, since what the server says about its insides is for the operator's log view.
/// </summary>
public sealed class OpenAiErrorTransformer(Uri upstream) : HttpTransformer
{
    /// <summary>Error bodies are small; one bigger than this is not worth parsing.</summary>
    private const int MaxErrorBody = 64 * 1024;

    /// <summary>The panel's own client key proved who called; it is not the model server's to see.</summary>
    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        if (proxyRequest.Headers.Authorization is { Parameter: { } secret } && secret.StartsWith(Core.Access.ApiKeyRegistry.SecretPrefix, StringComparison.Ordinal))
        {
            proxyRequest.Headers.Authorization = null;
        }
    }

    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        if (proxyResponse is not { StatusCode: >= HttpStatusCode.BadRequest })
        {
            return true;
        }

        var status = (int)proxyResponse.StatusCode;
        var error = await ErrorOfAsync(proxyResponse, cancellationToken);

        // The upstream's status and headers were copied already (the status by the forwarder itself, so again here);
        // the body, its length and encoding are replaced.
        httpContext.Response.StatusCode = status;
        httpContext.Response.Headers.ContentLength = null;
        httpContext.Response.Headers.ContentEncoding = default;
        httpContext.Response.Headers.ContentType = "application/json";
        await httpContext.Response.WriteAsJsonAsync(error.Body(), cancellationToken);
        return false;
    }

    /// <summary>The error a client sees for an upstream's error answer (also the audio routes', which send without YARP).</summary>
    public async Task<OpenAiError> ErrorOfAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var parsed = IsJson(response.Content.Headers.ContentType) ? await ReadErrorAsync(response.Content, cancellationToken) : null;
        return status >= 500
            ? new OpenAiError(status, $"The model server failed the request (HTTP {status}); the operator can see why in its log in Spark Control.", parsed?.Type ?? "server_error", parsed?.Code ?? "upstream_error")
            : new OpenAiError(status, Scrub(parsed?.Message) ?? $"The model server refused the request (HTTP {status}).", parsed?.Type ?? "invalid_request_error", parsed?.Code ?? "upstream_error") { Param = parsed?.Param };
    }

    private sealed record UpstreamError(string? Message, string? Type, string? Code, string? Param);

    private static async Task<UpstreamError?> ReadErrorAsync(HttpContent content, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength > MaxErrorBody)
        {
            return null;
        }

        try
        {
            using var document = await JsonDocument.ParseAsync(await content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            return root.TryGetProperty("error", out var error) switch
            {
                true when error.ValueKind == JsonValueKind.Object => Read(error),
                true when error.ValueKind == JsonValueKind.String => new UpstreamError(error.GetString(), null, null, null),
                _ => Read(root),
            };
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static UpstreamError Read(JsonElement error) =>
        new(Text(error, "message"), Text(error, "type"), Text(error, "code"), Text(error, "param"));

    /// <summary>A string property, or a number as text (vLLM sends its code as the HTTP status).</summary>
    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            _ => null,
        } : null;

    private string? Scrub(string? message) =>
        string.IsNullOrWhiteSpace(message) ? null
            : message.Replace(upstream.GetLeftPart(UriPartial.Authority), "the model server", StringComparison.OrdinalIgnoreCase)
                .Replace(upstream.Authority, "the model server", StringComparison.OrdinalIgnoreCase)
                .Replace(upstream.Host, "the model server", StringComparison.OrdinalIgnoreCase);

    private static bool IsJson(MediaTypeHeaderValue? type) =>
        type?.MediaType is { } media && (media.Equals("application/json", StringComparison.OrdinalIgnoreCase) || media.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
}
