using System.Net;
using System.Net.Http.Json;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Api;

namespace SparkControl.Tests.Web;

public sealed class StartupTests
{
    private static readonly string WebDll = Path.Combine(AppContext.BaseDirectory, "SparkControl.Web.dll");

    [Theory]
    [InlineData("--SparkControl:Port=abc", "SparkControl:Port: 'abc' is not a whole number")]
    [InlineData("--SparkControl:Port=70000", "SparkControl:Port must be between 1 and 65535, not 70000")]
    [InlineData("--SparkControl:Health:Interval=soon", "SparkControl:Health:Interval: 'soon' is not a duration")]
    [InlineData("--Demo:Mode=sometimes", "Demo:Mode: 'sometimes' is not one of Auto, On, Off")]
    [InlineData("--Demo:GpuReplaySpeed=0", "Demo:GpuReplaySpeed must be more than zero")]
    [InlineData("--SparkControl:ListenAddress=my laptop", "SparkControl:ListenAddress 'my laptop' must be an IP address")]
    [InlineData("--SparkControl:Gpu:GapThreshold=00:00:00.080", "SparkControl:Gpu:GapThreshold (00:00:00.0800000) must be longer than SparkControl:GpuSampleInterval")]
    public async Task Start_BadSetting_FailsWithOneLineNamingTheKey(string argument, string expected)
    {
        using var data = new TempDirectory();

        var result = await ProcessRunner.RunAsync("dotnet", [WebDll, argument, $"--SparkControl:DataDirectory={data.Path}"], TimeSpan.FromSeconds(60));

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("Spark Control cannot start: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_ExposedWithNoWayToSignIn_IsRefusedWithOneLineSayingWhatToDo()
    {
        // The database's name is taken by a directory: the store cannot open, so no user can ever be made.
        using var data = new TempDirectory();
        Directory.CreateDirectory(Path.Combine(data.Path, "sparkcontrol.db"));

        var result = await ProcessRunner.RunAsync("dotnet", [WebDll, "--SparkControl:ListenAddress=0.0.0.0", "--SparkControl:Port=1", $"--SparkControl:DataDirectory={data.Path}"], TimeSpan.FromSeconds(60));

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("Spark Control cannot start: it would listen on 0.0.0.0 but cannot keep users", line, StringComparison.Ordinal);
        Assert.Contains("Security:AllowAnonymous=true", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_WithDefaults_ServesTheDemoOnTheDocumentedAddress()
    {
        // What the README's first command does: no settings at all, the data directory from SPARKCONTROL_DATA.
        using var data = new TempDirectory();
        var start = new System.Diagnostics.ProcessStartInfo("dotnet", [WebDll]) { WorkingDirectory = data.Path, RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["SPARKCONTROL_DATA"] = data.Path;
        using var process = System.Diagnostics.Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri("http://127.0.0.1:5080"), Timeout = TimeSpan.FromSeconds(100) };
            HttpStatusCode? status = null;
            await Wait.UntilAsync(async () =>
            {
                Assert.False(process.HasExited, "the app exited; is port 5080 taken?");
                try
                {
                    using var response = await client.GetAsync("/healthz");
                    status = response.StatusCode;
                    return true;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, "the app answers on http://127.0.0.1:5080", TimeSpan.FromSeconds(120));

            Assert.Equal(HttpStatusCode.OK, status);
            Assert.True(File.Exists(Path.Combine(data.Path, "sparkcontrol.db")), "the data directory came from SPARKCONTROL_DATA");
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Start_ReadOnlyDataDirectory_StillServesAndSaysWhatIsOff()
    {
        await using var readOnly = await TmpfsMount.CreateReadOnlyAsync();
        await using var app = await SparkControlApp.StartAsync(dataDirectory: readOnly.Path);
        using var client = app.CreateClient();

        var page = await client.GetAsync("/");
        var health = await client.GetFromJsonAsync<HealthzEndpoints.HealthzResponse>("/healthz");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("degraded", health!.Status);
        Assert.False(health.DataDirectory.Writable);
        Assert.Equal("the file system is read-only", health.DataDirectory.Reason);
        Assert.False(health.Database.Available);
        Assert.Contains(readOnly.Path, health.Database.Reason, StringComparison.Ordinal);
    }
}
