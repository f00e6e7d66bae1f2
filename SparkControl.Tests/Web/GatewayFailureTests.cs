using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SparkControl.Tests.Infrastructure;
using Yarp.ReverseProxy.Forwarder;

namespace SparkControl.Tests.Web;

/// <summary>
/// The gateway's routes are served ahead of the panel's exception handler, so a failure of the gateway's own (here a
/// forwarder that throws) is answered by the gateway: in the OpenAI API's shape before the response has started, by a
/// cut-off response after, and logged either way. The panel goes on serving.
/// </summary>
public sealed class GatewayFailureTests
{
    private const string ChatBody = """{"model":"qwen3-8b","max_tokens":4,"messages":[{"role":"user","content":"hi"}]}""";

    [Fact]
    public async Task AFailureBeforeTheResponseStarts_IsAnOpenAiError500_Logged_AndThePanelServesOn()
    {
        var logs = new LogCollector();
        var forwarder = new FailingForwarder { StartFirst = false };
        await using var app = await StartAsync(forwarder, logs);
        using var client = app.CreateClient();

        using var response = await client.PostAsync("/v1/chat/completions", new StringContent(ChatBody, Encoding.UTF8, "application/json"));
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        Assert.Equal("internal_error", error.GetProperty("code").GetString());
        // What broke is in the log, not in the answer to a client.
        Assert.DoesNotContain(FailingForwarder.Why, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains(logs.Messages, m => m.Contains("Gateway: a request for qwen3-8b failed", StringComparison.Ordinal) && m.Contains(FailingForwarder.Why, StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/models")).StatusCode);
        // The failed request left the admission count (else enough failures would fill Gateway:MaxInFlight).
        Assert.Equal(0, app.Services.GetRequiredService<SparkControl.Web.Gateway.GatewayAdmission>().InFlight);
    }

    [Fact]
    public async Task AFailureAfterTheResponseStarted_CutsTheResponseShort_InsteadOfAppendingAnError()
    {
        var logs = new LogCollector();
        var forwarder = new FailingForwarder { StartFirst = true };
        await using var app = await StartAsync(forwarder, logs);
        using var client = app.CreateClient();

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(ChatBody, Encoding.UTF8, "application/json") };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var read = await Record.ExceptionAsync(() => response.Content.ReadAsStringAsync());

        // The client cannot take a cut-off stream for a whole one: reading it fails.
        Assert.IsAssignableFrom<Exception>(read);
        await Wait.UntilAsync(() => Task.FromResult(logs.Messages.Any(m => m.Contains(FailingForwarder.Why, StringComparison.Ordinal))), "the failure is logged", TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/models")).StatusCode);
    }

    private static async Task<SparkControlApp> StartAsync(FailingForwarder forwarder, LogCollector logs)
    {
        var app = await SparkControlApp.StartAsync(configureServices: s => s.AddSingleton<IHttpForwarder>(forwarder).AddSingleton<ILoggerProvider>(logs));
        using var client = app.CreateClient();
        await Wait.UntilAsync(async () => (await client.GetStringAsync("/v1/models")).Contains("\"qwen3-8b\"", StringComparison.Ordinal),
            "the gateway answers to the demo's chat model", TimeSpan.FromSeconds(60));
        return app;
    }

    /// <summary>A forwarder with a bug: it throws, before or after it has started the response.</summary>
    private sealed class FailingForwarder : IHttpForwarder
    {
        public const string Why = "forwarder bug for the test";

        public bool StartFirst { get; init; }

        public async ValueTask<ForwarderError> SendAsync(HttpContext context, string destinationPrefix, HttpMessageInvoker httpClient, ForwarderRequestConfig requestConfig, HttpTransformer transformer)
        {
            if (StartFirst)
            {
                context.Response.ContentLength = 1000;
                await context.Response.WriteAsync("{\"partial\":");
                await context.Response.Body.FlushAsync();
            }

            throw new InvalidOperationException(Why);
        }
    }
}
