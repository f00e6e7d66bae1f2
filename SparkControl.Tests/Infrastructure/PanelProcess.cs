using System.Diagnostics;
using System.Globalization;

namespace SparkControl.Tests.Infrastructure;

/// <summary>
/// The panel as an operator runs it, in a process of its own (<c>dotnet SparkControl.Web.dll</c>) on 127.0.0.1, so a
/// test can do to it what happens to a real one: kill it with SIGKILL in the middle of its work.
/// </summary>
public sealed class PanelProcess : IAsyncDisposable
{
    private static readonly string WebDll = Path.Combine(AppContext.BaseDirectory, "SparkControl.Web.dll");

    private readonly Process _process;
    private readonly List<string> _output = [];

    private PanelProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Uri BaseAddress { get; }

    /// <summary>What the panel printed so far, for a failure message.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output.TakeLast(50));
            }
        }
    }

    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

    public static async Task<PanelProcess> StartAsync(string dataDirectory, IDictionary<string, string?>? settings = null)
    {
        var port = Tools.FreePort();
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = dataDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(WebDll);
        var all = new Dictionary<string, string?>
        {
            ["SparkControl:DataDirectory"] = dataDirectory,
            ["SparkControl:ListenAddress"] = "127.0.0.1",
            ["SparkControl:Port"] = port.ToString(CultureInfo.InvariantCulture),
            ["Logging:LogLevel:Default"] = "Warning",
            // These tests are about crashes, not access: the trusted lab's switch keeps them to the point.
            ["Security:AllowAnonymous"] = "true",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        foreach (var (key, value) in all)
        {
            start.ArgumentList.Add($"--{key}={value}");
        }

        var panel = new PanelProcess(Process.Start(start)!, new Uri($"http://127.0.0.1:{port}"));
        using var client = panel.CreateClient();
        await Wait.UntilAsync(async () =>
        {
            Assert.False(panel._process.HasExited, $"the panel exited: {panel.Output}");
            try
            {
                using var response = await client.GetAsync("/healthz");
                return true;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "the panel answers", TimeSpan.FromSeconds(120));
        return panel;
    }

    /// <summary>SIGKILL: no shutdown, no flush, nothing the panel can do about it.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.Add(line);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync();
        }

        _process.Dispose();
    }
}
