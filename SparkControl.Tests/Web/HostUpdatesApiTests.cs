using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Api;

namespace SparkControl.Tests.Web;

/// <summary>
/// The full-upgrade preview and its confirmation, firmware, and the updates summary, through the app's API against the
/// demo Spark (its apt-get would remove one package and its fwupdmgr has one pending release).
/// </summary>
public sealed class HostUpdatesApiTests : IAsyncLifetime
{
    private SparkControlApp _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _app = await SparkControlApp.StartAsync();
        _client = _app.CreateClient();
    }

    [Fact]
    public async Task Preview_ListsTheUpgradesAndThePackagesFullUpgradeWouldRemove()
    {
        var preview = await _client.GetFromJsonAsync<JsonElement>("/api/sparks/demo/actions/apt-full-upgrade/preview");

        var removal = Assert.Single(preview.GetProperty("removals").EnumerateArray());
        Assert.Equal(("nvidia-container-toolkit-legacy", "1.16.2-1"), (removal.GetProperty("package").GetString(), removal.GetProperty("currentVersion").GetString()));
        Assert.Equal(["nvidia-container-toolkit-base", "nvidia-container-toolkit"], preview.GetProperty("upgrades").EnumerateArray().Select(u => u.GetProperty("package").GetString()));
    }

    [Theory]
    [InlineData("", "removes 1 package: nvidia-container-toolkit-legacy")]
    [InlineData("?confirmRemovals=0", "now removes 1 package: nvidia-container-toolkit-legacy, not the 0 confirmed")]
    [InlineData("?confirmRemovals=2", "not the 2 confirmed")]
    public async Task FullUpgrade_WithoutTheRightRemovalCount_Is409_AndNothingRuns(string query, string expected)
    {
        using var response = await _client.PostAsync($"/api/sparks/demo/actions/apt-full-upgrade{query}", null);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        using var current = await _client.GetAsync("/api/sparks/demo/actions/current");

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var detail = problem.GetProperty("detail").GetString();
        Assert.Contains(expected, detail, StringComparison.Ordinal);
        Assert.Contains("?confirmRemovals=1", detail, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NoContent, current.StatusCode);
    }

    [Theory]
    [InlineData("?confirmRemovals=-1")]
    [InlineData("?confirmRemovals=one")]
    public async Task FullUpgrade_ABadRemovalCount_Is400(string query)
    {
        using var response = await _client.PostAsync($"/api/sparks/demo/actions/apt-full-upgrade{query}", null);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task FullUpgrade_WithTheRemovalCountSeen_RunsToItsEnd_AndUpdatesShowsItsLastRun()
    {
        var before = await _client.GetFromJsonAsync<JsonElement>("/api/sparks/demo/updates");
        using var response = await _client.PostAsync("/api/sparks/demo/actions/apt-full-upgrade?confirmRemovals=1", null);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        JsonElement after = default;
        await Wait.UntilAsync(async () =>
        {
            after = await _client.GetFromJsonAsync<JsonElement>("/api/sparks/demo/updates");
            return LastRun(after, "apt-full-upgrade").GetProperty("outcome").GetString() is not null;
        }, "the full-upgrade's end is in the audit log");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Removing nvidia-container-toolkit-legacy (1.16.2-1) ...", lines);
        Assert.Equal(HostEndpoints.FinishedLine, lines[^1]);
        Assert.Equal((2, 1, 1), (before.GetProperty("aptUpgrades").GetInt32(), before.GetProperty("aptRemovals").GetInt32(), before.GetProperty("firmwarePending").GetInt32()));
        Assert.Equal("System Firmware", Assert.Single(before.GetProperty("firmware").EnumerateArray()).GetProperty("device").GetString());
        Assert.Equal(JsonValueKind.Null, LastRun(before, "apt-full-upgrade").GetProperty("startedAt").ValueKind);
        var run = LastRun(after, "apt-full-upgrade");
        Assert.Equal("finished", run.GetProperty("outcome").GetString());
        Assert.False(string.IsNullOrEmpty(run.GetProperty("startedBy").GetString()));
        Assert.Equal(["apt-update", "apt-upgrade", "apt-full-upgrade", "firmware-update", "reboot"], after.GetProperty("lastRuns").EnumerateArray().Select(r => r.GetProperty("action").GetString()));
    }

    [Fact]
    public async Task FirmwareUpdate_RunsDetached_ToItsEnd()
    {
        using var response = await _client.PostAsync("/api/sparks/demo/actions/firmware-update", null);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var current = await _client.GetFromJsonAsync<JsonElement>("/api/sparks/demo/actions/current");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Successfully installed firmware", lines);
        Assert.Equal(HostEndpoints.FinishedLine, lines[^1]);
        Assert.Equal("firmware-update", current.GetProperty("action").GetString());
    }

    [Fact]
    public async Task UnknownAction_Is400NamingEveryAction()
    {
        using var response = await _client.PostAsync("/api/sparks/demo/actions/dist-upgrade", null);
        var problem = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("apt-full-upgrade", problem, StringComparison.Ordinal);
        Assert.Contains("firmware-update", problem, StringComparison.Ordinal);
    }

    private static JsonElement LastRun(JsonElement updates, string action) =>
        updates.GetProperty("lastRuns").EnumerateArray().Single(r => r.GetProperty("action").GetString() == action);

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
    }
}
