using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using SparkControl.Web.Gateway;

namespace SparkControl.Tests.Security;

/// <summary>
/// The gateway's fast path serves its three forwarding routes ahead of the general pipeline: every caller and request
/// next to the ones it admits must be answered exactly as the general pipeline answers them. The secured panel's Spark
/// is unreachable, so a request that gets through to the forwarder is told the model is not loaded (404).
/// </summary>
public sealed class GatewayFastPathTests
{
    private const string ChatBody = """{"model":"qwen3-8b","messages":[{"role":"user","content":"hi"}]}""";

    [Theory]
    [InlineData("POST", "/v1/chat/completions", GatewayRoute.Chat)]
    [InlineData("POST", "/v1/completions", GatewayRoute.Completions)]
    [InlineData("POST", "/v1/embeddings", GatewayRoute.Embeddings)]
    [InlineData("post", "/V1/Chat/Completions", GatewayRoute.Chat)]
    [InlineData("GET", "/v1/chat/completions", null)]
    [InlineData("POST", "/v1/chat/completions/", null)]
    [InlineData("POST", "/v1/chat/completions\n", null)]
    [InlineData("POST", "/v1/chat", null)]
    [InlineData("POST", "/v1/models", null)]
    [InlineData("POST", "/v1/audio/transcriptions", null)]
    [InlineData("POST", "/api/v1/chat/completions", null)]
    [InlineData("POST", "/v1/chat%2Fcompletions", null)]
    [InlineData("POST", "/v1/chat/completions.", null)]
    [InlineData("POST", "/v1//chat/completions", null)]
    [InlineData("HEAD", "/v1/chat/completions", null)]
    public void OnlyTheThreeForwardingRoutes_AreTakenAhead(string method, string path, GatewayRoute? expected)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = path;

        Assert.Equal(expected, GatewayFastPath.RouteOf(context.Request));
    }

    [Theory]
    [InlineData("false")]
    [InlineData("true")]
    public async Task BeforeSetup_EveryForwardingRouteSaysSo_WhetherOrNotAKeyIsNeeded(string requireKey)
    {
        await using var panel = await SecuredPanel.StartAsync(new Dictionary<string, string?> { ["Gateway:RequireKey"] = requireKey });
        using var anonymous = panel.App.CreateClient();

        foreach (var route in new[] { "/v1/chat/completions", "/v1/completions", "/v1/embeddings" })
        {
            var response = await PostAsync(anonymous, route);

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Contains("/setup", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task RequiredKey_OnlyAKeyOrASignInGetsThrough_HoweverTheRequestIsSpelled()
    {
        await using var panel = await SecuredPanel.StartAsync(new Dictionary<string, string?> { ["Gateway:RequireKey"] = "true" });
        using var admin = await panel.SetUpAdminAsync();
        var key = await SecuredPanel.CreateKeyAsync(admin, "chat-app", "gateway", null);
        using var withKey = panel.WithKey(key);
        using var anonymous = panel.App.CreateClient();
        using var wrongKey = panel.WithKey(key + "x");
        using var basic = panel.App.CreateClient();
        basic.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", $"Basic {key}");
        using var paddedKey = panel.App.CreateClient();
        paddedKey.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", $"bearer   {key} ");
        using var twoHeaders = panel.App.CreateClient();
        twoHeaders.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", [$"Bearer {key}", "Basic YTpi"]);

        foreach (var route in new[] { "/v1/chat/completions", "/V1/CHAT/COMPLETIONS", "/v1/chat/completions/", "/v1/completions", "/v1/embeddings" })
        {
            await AssertReachesTheForwarderAsync(withKey, route);
            await AssertReachesTheForwarderAsync(paddedKey, route);
            await AssertReachesTheForwarderAsync(admin, route);
            await AssertNeedsAKeyAsync(anonymous, route);
            await AssertNeedsAKeyAsync(wrongKey, route);
            await AssertNeedsAKeyAsync(basic, route);
            await AssertNeedsAKeyAsync(twoHeaders, route);
            // A query token opens the hubs only (browsers' SignalR cannot send headers there), never /v1.
            await AssertNeedsAKeyAsync(anonymous, $"{route}?access_token={Uri.EscapeDataString(key)}");
        }

        // Another method is the general pipeline's and is never forwarded: a client key opens the gateway's routes only.
        using var getWithKey = await withKey.GetAsync("/v1/chat/completions");
        using var getSignedIn = await admin.GetAsync("/v1/chat/completions");
        Assert.Equal(HttpStatusCode.Forbidden, getWithKey.StatusCode);
        Assert.DoesNotContain("model_not_found", await getSignedIn.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Origin", "http://evil.example")]
    [InlineData("Origin", "null")]
    [InlineData("Sec-Fetch-Site", "cross-site")]
    [InlineData("Sec-Fetch-Site", "same-site")]
    public async Task AnotherOrigin_IsRefused_WithAValidKeyAndWhereNoKeyIsNeeded(string header, string value)
    {
        await using var panel = await SecuredPanel.StartAsync(new Dictionary<string, string?> { ["Gateway:RequireKey"] = "false" });
        using var admin = await panel.SetUpAdminAsync();
        using var withKey = panel.WithKey(await SecuredPanel.CreateKeyAsync(admin, "chat-app", "gateway", null));
        using var anonymous = panel.App.CreateClient();

        foreach (var client in new[] { withKey, anonymous })
        {
            using var request = Post("/v1/chat/completions");
            request.Headers.TryAddWithoutValidation(header, value);
            using var response = await client.SendAsync(request);

            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Contains("cross-site", await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        }

        using var sameOrigin = Post("/v1/chat/completions");
        sameOrigin.Headers.TryAddWithoutValidation("Origin", panel.App.BaseAddress.GetLeftPart(UriPartial.Authority));
        using var allowed = await anonymous.SendAsync(sameOrigin);
        Assert.Equal(HttpStatusCode.NotFound, allowed.StatusCode);
    }

    [Fact]
    public async Task NoKeyNeeded_AnyCallerGetsThrough_SignedInOrNot_AndAKeyThatCameAlongIsStillMarkedUsed()
    {
        await using var panel = await SecuredPanel.StartAsync(new Dictionary<string, string?> { ["Gateway:RequireKey"] = "false" });
        using var admin = await panel.SetUpAdminAsync();
        var key = await SecuredPanel.CreateKeyAsync(admin, "chat-app", "gateway", null);
        using var withKey = panel.WithKey(key);
        using var wrongKey = panel.WithKey(key + "x");
        using var anonymous = panel.App.CreateClient();

        await AssertReachesTheForwarderAsync(anonymous, "/v1/chat/completions");
        await AssertReachesTheForwarderAsync(wrongKey, "/v1/chat/completions");
        await AssertReachesTheForwarderAsync(withKey, "/v1/chat/completions");
        await AssertReachesTheForwarderAsync(admin, "/v1/chat/completions");

        var keys = JsonDocument.Parse(await admin.GetStringAsync("/api/keys")).RootElement;
        Assert.NotEqual(JsonValueKind.Null, keys[0].GetProperty("lastUsedAt").ValueKind);
    }

    private static HttpRequestMessage Post(string route) =>
        new(HttpMethod.Post, route) { Content = new StringContent(ChatBody, Encoding.UTF8, "application/json") };

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, string route)
    {
        using var request = Post(route);
        return await client.SendAsync(request);
    }

    private static async Task AssertReachesTheForwarderAsync(HttpClient client, string route)
    {
        using var response = await PostAsync(client, route);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.NotFound && body.Contains("model_not_found", StringComparison.Ordinal), $"{route}: {(int)response.StatusCode} {body}");
    }

    private static async Task AssertNeedsAKeyAsync(HttpClient client, string route)
    {
        using var response = await PostAsync(client, route);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized && body.Contains("client key", StringComparison.Ordinal), $"{route}: {(int)response.StatusCode} {body}");
    }
}
