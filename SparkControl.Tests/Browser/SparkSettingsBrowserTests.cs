using Microsoft.Playwright;
using SparkControl.Core.Remote;
using SparkControl.Core.Sparks;
using SparkControl.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;
using SparkControl.Core.Hosts;

namespace SparkControl.Tests.Browser;

/// <summary>Real Sparks in the browser: a real sshd and dockerd behind them.</summary>
[Collection(DockerCollection.Name)]
public sealed class SparkSettingsBrowserTests(DockerdFixture docker, SshdFixture sshd, BrowserFixture browser) : BrowserTest(browser)
{
    private static readonly Dictionary<string, string?> FastSsh = new()
    {
        ["SparkControl:Ssh:RetryAttempts"] = "0",
        ["SparkControl:Ssh:CircuitBreakerFailures"] = "2",
        ["SparkControl:Ssh:CircuitBreakDuration"] = "00:00:02",
    };

    private static async Task WriteSparksAsync(string dataDirectory, params SparkDefinition[] sparks) =>
        await File.WriteAllTextAsync(Path.Combine(dataDirectory, SparksYaml.FileName), SparksYaml.Write(sparks));

    private SparkDefinition Spark(string name, int port, string bin, string dataDirectory) => new()
    {
        Name = name,
        Host = "127.0.0.1",
        Port = port,
        User = sshd.User,
        KeyPath = sshd.InstallClientKey(dataDirectory),
        PathPrefix = [bin],
        Gpus = "none",
    };

    private void PinHostKey(string dataDirectory, params int[] ports)
    {
        var key = sshd.HostPublicKey.Split(' ');
        File.WriteAllLines(Path.Combine(dataDirectory, HostKeyStore.FileName), ports.Select(p => $"[127.0.0.1]:{p} {key[0]} {key[1]}"));
    }

    [Fact]
    public async Task Settings_ApprovingTheHostKey_LetsCommandsRun()
    {
        using var bin = new SparkBin(docker);
        using var data = new TempDirectory("sc-data");
        await WriteSparksAsync(data.Path, Spark("spark-1", sshd.Port, bin.Path, data.Path));
        await using var app = await SparkControlApp.StartAsync(dataDirectory: data.Path);
        var page = await NewPageAsync(app.BaseAddress);
        var expected = (await ProcessRunner.RunAsync(Tools.SshKeygen, ["-lf", sshd.HostKeyPath + ".pub"])).Stdout.Split(' ')[1];

        await page.GotoAsync("/settings");
        // The first health check met an unknown key: it waits for approval and nothing ran.
        await Expect(page.GetByTestId("connection-spark-1").GetByTestId("connection-state")).ToHaveAttributeAsync("data-state", "HostKeyNotApproved");
        await page.GetByTestId("approve-spark-1").ClickAsync();
        await Expect(page.GetByTestId("confirm-dialog")).ToContainTextAsync(expected);
        await page.GetByTestId("confirm-ok").ClickAsync();

        await Expect(page.GetByTestId("test-result")).ToContainTextAsync("Connected as");
        await Expect(page.GetByTestId("connection-spark-1").GetByTestId("connection-state")).ToHaveAttributeAsync("data-state", "Connected");
        Assert.Equal(expected, app.Get<HostKeyStore>().PinnedFingerprint("127.0.0.1", sshd.Port));
        await page.GotoAsync("/");
        await Expect(page.GetByTestId("spark-spark-1").GetByTestId("spark-reachability")).ToContainTextAsync("reachable ·");
        await page.SaveScreenshotAsync("dashboard-real-spark.png");
    }

    [Fact]
    public async Task Dashboard_DeadSpark_ShowsItsCircuitOpenWhileTheOtherWorks_ThenRecovers()
    {
        using var bin = new SparkBin(docker);
        using var data = new TempDirectory("sc-data");
        var deadPort = Tools.FreePort();
        await WriteSparksAsync(data.Path, Spark("alive", sshd.Port, bin.Path, data.Path), Spark("dead", deadPort, bin.Path, data.Path));
        PinHostKey(data.Path, sshd.Port, deadPort);
        await using var app = await SparkControlApp.StartAsync(FastSsh, dataDirectory: data.Path);
        var page = await NewPageAsync(app.BaseAddress);

        await page.GotoAsync("/");

        await Expect(page.GetByTestId("spark-dead").GetByTestId("connection-state")).ToHaveAttributeAsync("data-state", "CircuitOpen");
        await Expect(page.GetByTestId("spark-dead").GetByTestId("spark-reachability")).ToContainTextAsync("unreachable");
        await Expect(page.GetByTestId("spark-alive").GetByTestId("connection-state")).ToHaveAttributeAsync("data-state", "Connected");
        await Expect(page.GetByTestId("spark-alive").GetByTestId("spark-reachability")).ToContainTextAsync("reachable ·");
        await page.SaveScreenshotAsync("dashboard-circuit-open.png");

        var back = new SshdFixture(sessionPathFromBin: false, port: deadPort, sameIdentityAs: sshd);
        await back.InitializeAsync();
        try
        {
            await Expect(page.GetByTestId("spark-dead").GetByTestId("connection-state")).ToHaveAttributeAsync("data-state", "Connected");
            await Expect(page.GetByTestId("spark-dead").GetByTestId("spark-reachability")).ToContainTextAsync("reachable ·");
        }
        finally
        {
            await back.DisposeAsync();
        }
    }
}
