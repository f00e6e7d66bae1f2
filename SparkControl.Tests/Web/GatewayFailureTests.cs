using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Gateway;
using Yarp.ReverseProxy.Forwarder;

namespace SparkControl.Tests.Web;

/// <summary>
/// The gateway's routes are served ahead of the panel's exception handler and page headers. A failure of the gateway's
/// own (here a forwarder that throws) is answered by the gateway: in the OpenAI API's shape before the response has
/// started, by a cut-off response after, logged with the model either way; a body the client sent broken is the
/// client's error, not the gateway's. The panel goes on serving.
/// </summary>
public sealed class GatewayFailureTests
{
    private const string ChatBody = """{"model":"qwen3-8b","max_tokens":4,"messages":[{"role":"user","content":"hi"}]}""";

    [Fact]
    public async Task AFailureBeforeTheResponseStarts_IsAnOpenAiError500_Logged_AndThePanelServesOn()
    {
        var logs = new LogCollector();
        await using var app = await StartAsync(new FailingForwarder { StartFirst = false }, logs);
        using var client = app.CreateClient();

        using var response = await client.PostAsync("/v1/chat/completions", Chat());
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        Assert.Equal("internal_error", error.GetProperty("code").GetString());
        // What broke is in the log, with where the request was going, not in the answer to a client.
        Assert.DoesNotContain(FailingForwarder.Why, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains(logs.Messages, m => m.Contains("Gateway: a request for qwen3-8b (to ", StringComparison.Ordinal) && m.Contains(FailingForwarder.Why, StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/models")).StatusCode);
        // The failed request left the admission count (else enough failures would fill Gateway:MaxInFlight).
        Assert.Equal(0, app.Get<GatewayAdmission>().InFlight);
    }

    [Fact]
    public async Task AFailureAfterTheResponseStarted_CutsTheResponseShort_InsteadOfAppendingAnError()
    {
        var logs = new LogCollector();
        await using var app = await StartAsync(new FailingForwarder { StartFirst = true }, logs);
        using var client = app.CreateClient();

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Chat() };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = await response.Content.ReadAsStreamAsync();
        var received = new MemoryStream();

        // Chunked, so an error appended and the chunks ended properly would read as a whole answer: it must not.
        await Assert.ThrowsAnyAsync<IOException>(() => body.CopyToAsync(received));
        Assert.StartsWith(FailingForwarder.Partial, Encoding.UTF8.GetString(received.ToArray()), StringComparison.Ordinal);
        Assert.DoesNotContain("internal_error", Encoding.UTF8.GetString(received.ToArray()), StringComparison.Ordinal);
        await Wait.UntilAsync(() => Task.FromResult(logs.Messages.Any(m => m.Contains("Gateway: a request for qwen3-8b (to ", StringComparison.Ordinal) && m.Contains(FailingForwarder.Why, StringComparison.Ordinal))),
            "the gateway logs the failure with the model", TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/models")).StatusCode);
    }

    [Theory]
    [InlineData("Transfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n")]
    [InlineData("Transfer-Encoding: chunked\r\n\r\n5\r\n{\"model\"\r\n0\r\n\r\n")]
    public async Task ABodySentBroken_IsTheClientsError400_NotTheGateways(string framingAndBody)
    {
        var logs = new LogCollector();
        await using var app = await StartAsync(new FailingForwarder { StartFirst = false }, logs);

        var answer = await RawAsync(app, "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nConnection: close\r\n" + framingAndBody);

        Assert.StartsWith("HTTP/1.1 400", answer, StringComparison.Ordinal);
        Assert.Contains("\"code\":\"invalid_body\"", answer, StringComparison.Ordinal);
        Assert.DoesNotContain(logs.Messages, m => m.Contains("Gateway: a request for", StringComparison.Ordinal));
        Assert.Equal(0, app.Get<GatewayAdmission>().InFlight);
    }

    [Fact]
    public async Task ForwardedAnswers_CarryNoPageHeaders_ButWhatTheBranchPassesOn_Does()
    {
        await using var app = await SparkControlApp.StartAsync();
        using var client = app.CreateClient();
        await WaitForChatModelAsync(client);

        using var forwarded = await client.PostAsync("/v1/chat/completions", Chat());
        using var crossSite = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Chat() };
        crossSite.Headers.Add("Origin", "https://elsewhere.example");
        using var refused = await client.SendAsync(crossSite);

        Assert.Equal(HttpStatusCode.OK, forwarded.StatusCode);
        Assert.False(forwarded.Headers.Contains("Content-Security-Policy"));
        // Taken by the general pipeline (the branch takes no other site's request): refused, with the page headers.
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("frame-ancestors 'none'", refused.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal("nosniff", refused.Headers.GetValues("X-Content-Type-Options").Single());
    }

    private static StringContent Chat() => new(ChatBody, Encoding.UTF8, "application/json");

    private static async Task<SparkControlApp> StartAsync(FailingForwarder forwarder, LogCollector logs)
    {
        var app = await SparkControlApp.StartAsync(configureServices: s => s.AddSingleton<IHttpForwarder>(forwarder).AddSingleton<ILoggerProvider>(logs));
        using var client = app.CreateClient();
        await WaitForChatModelAsync(client);
        return app;
    }

    private static Task WaitForChatModelAsync(HttpClient client) =>
        Wait.UntilAsync(async () => (await client.GetStringAsync("/v1/models")).Contains("\"qwen3-8b\"", StringComparison.Ordinal),
            "the gateway answers to the demo's chat model", TimeSpan.FromSeconds(60));

    /// <summary>Sends <paramref name="request"/> as written on a socket of its own and reads until the server closes it.</summary>
    private static async Task<string> RawAsync(SparkControlApp app, string request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(app.BaseAddress.Host, app.BaseAddress.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await reader.ReadToEndAsync(timeout.Token);
    }

    /// <summary>A forwarder with a bug: it throws, before or after it has started a (chunked) response.</summary>
    private sealed class FailingForwarder : IHttpForwarder
    {
        public const string Why = "forwarder bug for the test";

        public const string Partial = "{\"partial\":";

        public bool StartFirst { get; init; }

        public async ValueTask<ForwarderError> SendAsync(HttpContext context, string destinationPrefix, HttpMessageInvoker httpClient, ForwarderRequestConfig requestConfig, HttpTransformer transformer)
        {
            if (StartFirst)
            {
                await context.Response.WriteAsync(Partial);
                await context.Response.Body.FlushAsync();
            }

            throw new InvalidOperationException(Why);
        }
    }
}
