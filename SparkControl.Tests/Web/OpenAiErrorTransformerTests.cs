using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using SparkControl.Web.Gateway;

namespace SparkControl.Tests.Web;

/// <summary>Upstream failures reach clients as OpenAI-style errors, without the server's address or insides.</summary>
public sealed class OpenAiErrorTransformerTests
{
    private static readonly Uri Upstream = new("http://spark-1.lan:8000/");

    private static async Task<(int Status, JsonElement Error, bool CopyBody)> TransformAsync(HttpStatusCode status, string body, string contentType)
    {
        var context = new DefaultHttpContext();
        context.Response.Body = new MemoryStream();
        using var response = new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, contentType) };

        var copyBody = await new OpenAiErrorTransformer(Upstream).TransformResponseAsync(context, response, CancellationToken.None);

        context.Response.Body.Position = 0;
        var error = copyBody ? default : JsonDocument.Parse(context.Response.Body).RootElement.GetProperty("error").Clone();
        return (context.Response.StatusCode, error, copyBody);
    }

    [Fact]
    public async Task Success_PassesThroughUntouched()
    {
        var (status, _, copyBody) = await TransformAsync(HttpStatusCode.OK, "data: {}\n\n", "text/event-stream");

        Assert.Equal(200, status);
        Assert.True(copyBody);
    }

    [Fact]
    public async Task OpenAiShapedClientError_KeepsItsMessageTypeAndParam_WithoutTheServersAddress()
    {
        var (status, error, _) = await TransformAsync(HttpStatusCode.BadRequest,
            """{"error":{"message":"max_tokens is too large: 99999 (see http://spark-1.lan:8000/docs)","type":"BadRequestError","param":"max_tokens","code":400}}""", "application/json");

        Assert.Equal(400, status);
        Assert.Equal("max_tokens is too large: 99999 (see the model server/docs)", error.GetProperty("message").GetString());
        Assert.Equal("BadRequestError", error.GetProperty("type").GetString());
        Assert.Equal("max_tokens", error.GetProperty("param").GetString());
        Assert.Equal("400", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task OlderVllmShape_IsNormalized()
    {
        var (_, error, _) = await TransformAsync(HttpStatusCode.BadRequest, """{"object":"error","message":"This model's maximum context length is 32768 tokens.","type":"BadRequestError","param":null,"code":400}""", "application/json");

        Assert.Equal("This model's maximum context length is 32768 tokens.", error.GetProperty("message").GetString());
        Assert.Equal("BadRequestError", error.GetProperty("type").GetString());
    }

    [Fact]
    public async Task VllmKeyCheck_StringError_IsNormalized()
    {
        var (status, error, _) = await TransformAsync(HttpStatusCode.Unauthorized, """{"error":"Unauthorized"}""", "application/json");

        Assert.Equal(401, status);
        Assert.Equal("Unauthorized", error.GetProperty("message").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
    }

    [Fact]
    public async Task ServerError_WithATraceback_GetsOurMessage()
    {
        var (status, error, _) = await TransformAsync(HttpStatusCode.InternalServerError,
            "Traceback (most recent call last):\n  File \"/usr/local/lib/python3.12/site-packages/vllm/engine.py\", line 12\nRuntimeError: CUDA error at spark-1.lan", "text/plain");

        Assert.Equal(500, status);
        var message = error.GetProperty("message").GetString()!;
        Assert.Equal("The model server failed the request (HTTP 500); the operator can see why in its log in Spark Control.", message);
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        Assert.Equal("upstream_error", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task ProxyHtmlPage_BecomesJson()
    {
        var (status, error, _) = await TransformAsync(HttpStatusCode.BadGateway, "<html><body>502 Bad Gateway nginx at spark-1.lan</body></html>", "text/html");

        Assert.Equal(502, status);
        Assert.DoesNotContain("spark-1", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientErrorThatIsNotJson_SaysTheStatus()
    {
        var (_, error, _) = await TransformAsync(HttpStatusCode.NotFound, "Not Found", "text/plain");

        Assert.Equal("The model server refused the request (HTTP 404).", error.GetProperty("message").GetString());
    }
}
