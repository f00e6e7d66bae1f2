using System.Net.Http.Headers;
using Yarp.ReverseProxy.Forwarder;

namespace SparkControl.Web.Gateway;

/// <summary>An error as OpenAI clients expect it: <c>{"error":{"message","type","param","code"}}</c>.</summary>
public sealed record OpenAiError(int Status, string Message, string Type, string Code)
{
    public string? Param { get; init; }

    public object Body() => new { error = new { message = Message, type = Type, param = Param, code = Code } };
}

/// <summary>
/// YARP's default transforms, except that an upstream failure that is not JSON (a proxy's HTML page, a Python
/// traceback) becomes an OpenAI-style error: clients get something they can parse, and nothing of the server's insides.
/// </summary>
public sealed class OpenAiErrorTransformer : HttpTransformer
{
    public static readonly OpenAiErrorTransformer Instance = new();

    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        if (proxyResponse is not { StatusCode: >= System.Net.HttpStatusCode.BadRequest } || IsJson(proxyResponse.Content.Headers.ContentType))
        {
            return true;
        }

        // The upstream's headers were copied already; the body (and its length) are replaced.
        httpContext.Response.Headers.ContentLength = null;
        httpContext.Response.Headers.ContentType = "application/json";
        var status = (int)proxyResponse.StatusCode;
        await httpContext.Response.WriteAsJsonAsync(new OpenAiError(status, $"The model server failed the request with HTTP {status}.", status >= 500 ? "server_error" : "invalid_request_error", "upstream_error").Body(), cancellationToken);
        return false;
    }

    private static bool IsJson(MediaTypeHeaderValue? type) =>
        type?.MediaType is { } media && (media.Equals("application/json", StringComparison.OrdinalIgnoreCase) || media.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
}
