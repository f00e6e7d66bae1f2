using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SparkControl.Tests.Infrastructure;
using SparkControl.Tests.Web;

namespace SparkControl.Tests.Security;

/// <summary>
/// Transcription jobs and scrub tasks belong to whoever started them: another operator is told they do not exist, an
/// admin sees them all, a viewer starts none; hostile ids are refused without being echoed.
/// </summary>
public sealed class TranscriptAccessTests
{
    private static readonly string[] HostileIds = ["<script>alert(1)</script>", "..%2F..%2Fetc%2Fpasswd", new string('a', 10_000), "0123456789ABCDEF", "0123456789abcde\n"];

    [Fact]
    public async Task Jobs_AreTheirOwners_AnAdminSeesAll_AViewerStartsNone()
    {
        await using var panel = await SecuredPanel.StartAsync(new Dictionary<string, string?> { ["Demo:Mode"] = "On", ["Demo:InitialModel"] = string.Empty });
        var admin = await panel.SetUpAdminAsync();
        foreach (var (name, role) in new[] { ("olga", "operator"), ("omar", "operator"), ("vera", "viewer") })
        {
            Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/users", new { name, password = $"{name}-password-1", role })).StatusCode);
        }

        var olga = await SecuredPanel.SignInAsync(panel, "olga", "olga-password-1");
        var omar = await SecuredPanel.SignInAsync(panel, "omar", "omar-password-1");
        var vera = await SecuredPanel.SignInAsync(panel, "vera", "vera-password-1");
        await Wait.UntilAsync(() => panel.App.Get<SparkControl.Core.Gateway.AudioRoutes>().Workers().Any(w => w.Healthy && w.Role == SparkControl.Core.Sparks.AudioRole.Transcription), "the demo ASR worker is Healthy", TimeSpan.FromSeconds(60));

        var (started, body) = await TranscriptJobTests.SubmitAsync(olga, TestAudioWorker.SilentWav(1));
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var id = body.GetProperty("id").GetString()!;
        var (viewerTry, _) = await TranscriptJobTests.SubmitAsync(vera, TestAudioWorker.SilentWav(1));

        Assert.Equal(HttpStatusCode.OK, (await olga.GetAsync($"/api/transcripts/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/transcripts/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await omar.GetAsync($"/api/transcripts/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await omar.PostAsync($"/api/transcripts/{id}/cancel", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await omar.DeleteAsync($"/api/transcripts/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await omar.PostAsJsonAsync($"/api/transcripts/{id}/scrub", new { keepOriginal = true })).StatusCode);
        Assert.Empty(await omar.GetFromJsonAsync<JsonElement[]>("/api/transcripts") ?? []);
        Assert.Single(await olga.GetFromJsonAsync<JsonElement[]>("/api/transcripts") ?? []);
        Assert.Single(await admin.GetFromJsonAsync<JsonElement[]>("/api/transcripts") ?? []);
        Assert.Equal(HttpStatusCode.Forbidden, viewerTry.StatusCode);
        await TranscriptJobTests.WaitForAsync(olga, id, "done");

        // Scrub tasks too: olga's task is hers.
        using var scrub = await olga.PostAsJsonAsync("/api/scrub", new { text = "mail me at olga@example.com" });
        var task = (await scrub.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        Assert.Equal(HttpStatusCode.NotFound, (await omar.GetAsync($"/api/scrub/{task}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await olga.GetAsync($"/api/scrub/{task}")).StatusCode);
    }

    [Fact]
    public async Task HostileIds_Are400_AndNeverEchoed()
    {
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Demo:InitialModel"] = string.Empty });
        using var client = app.CreateClient();

        foreach (var id in HostileIds)
        {
            foreach (var path in new[] { $"/api/scrub/{Uri.EscapeDataString(id)}", $"/api/transcripts/{Uri.EscapeDataString(id)}", $"/api/transcripts/{Uri.EscapeDataString(id)}/cancel" })
            {
                using var response = path.EndsWith("/cancel", StringComparison.Ordinal) ? await client.PostAsync(path, null) : await client.GetAsync(path);
                var text = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{path[..Math.Min(60, path.Length)]}: {response.StatusCode}");
                Assert.DoesNotContain("<script>", text, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain("passwd", text, StringComparison.Ordinal);
                Assert.DoesNotContain("aaaaaaaaaa", text, StringComparison.Ordinal);
            }
        }

        // A well-formed id of nothing is a 404 that does not repeat it either.
        using var missing = await client.GetAsync("/api/scrub/0123456789abcdef");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.DoesNotContain("0123456789abcdef", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
