using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Security;

/// <summary>Client keys on the gateway, with the official OpenAI SDK as the client.</summary>
public sealed class GatewayKeyTests
{
    private static OpenAIClient Sdk(SparkControlApp app, string key) =>
        new(new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(app.BaseAddress, "/v1"), NetworkTimeout = TimeSpan.FromSeconds(60) });

    [Fact]
    public async Task RequiredKey_TheSdkWorksWithAClientKey_AndFailsClearlyWithoutOrRevoked()
    {
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Gateway:RequireKey"] = "true" });
        using var admin = app.CreateClient();
        var created = await (await admin.PostAsJsonAsync("/api/keys", new { name = "chat-app", kind = "gateway" })).Content.ReadFromJsonAsync<JsonElement>();
        var key = created.GetProperty("key").GetString()!;
        var id = created.GetProperty("info").GetProperty("id").GetInt64();
        await Wait.UntilAsync(async () => (await admin.GetStringAsync("/api/services")).Contains("qwen3-8b", StringComparison.Ordinal), "the demo model serves");

        ChatCompletion answer = null!;
        await Wait.UntilAsync(async () =>
        {
            try
            {
                answer = await Sdk(app, key).GetChatClient("qwen3-8b").CompleteChatAsync([new UserChatMessage("Say hello")], new ChatCompletionOptions { MaxOutputTokenCount = 8 });
                return true;
            }
            catch (ClientResultException ex) when (ex.Status == 404)
            {
                return false;
            }
        }, "the gateway routes qwen3-8b", TimeSpan.FromSeconds(60));
        var without = await Assert.ThrowsAsync<ClientResultException>(() => Sdk(app, "sk-anything").GetChatClient("qwen3-8b").CompleteChatAsync([new UserChatMessage("Say hello")]));

        Assert.Equal("qwen3-8b", answer.Model);
        Assert.Equal(401, without.Status);
        Assert.Contains("client key", without.Message, StringComparison.Ordinal);
        // The key's last use is kept.
        var listed = await admin.GetFromJsonAsync<JsonElement>("/api/keys");
        Assert.NotEqual(JsonValueKind.Null, listed[0].GetProperty("lastUsedAt").ValueKind);

        // A client key opens /v1 only.
        using var withClientKey = app.CreateClient();
        withClientKey.DefaultRequestHeaders.Authorization = new("Bearer", key);
        Assert.Equal(HttpStatusCode.Forbidden, (await withClientKey.GetAsync("/api/sparks")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"/api/keys/{id}")).StatusCode);
        var revoked = await Assert.ThrowsAsync<ClientResultException>(() => Sdk(app, key).GetChatClient("qwen3-8b").CompleteChatAsync([new UserChatMessage("Say hello")]));
        Assert.Equal(401, revoked.Status);
    }

    [Fact]
    public async Task OnLoopbackByDefault_NoKeyIsNeeded()
    {
        await using var app = await SparkControlApp.StartAsync();
        using var client = app.CreateClient();

        var models = await client.GetAsync("/v1/models");

        Assert.Equal(HttpStatusCode.OK, models.StatusCode);
    }
}
