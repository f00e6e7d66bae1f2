using System.Net;
using System.Net.Sockets;

namespace SparkControl.Tests.Infrastructure;

/// <summary>Where the programs integration tests drive live, and small helpers around them.</summary>
public static class Tools
{
    /// <summary>Debian's docker.io client; another docker on PATH may be a newer client only.</summary>
    public static string Docker => File.Exists("/usr/bin/docker") ? "/usr/bin/docker" : "docker";

    public const string Dockerd = "/usr/sbin/dockerd";
    public const string Sshd = "/usr/sbin/sshd";
    public const string SshKeygen = "/usr/bin/ssh-keygen";
    public const string Chromium = "/usr/bin/chromium";

    /// <summary>Prometheus's own checker (Debian package <c>prometheus</c>), which the /metrics output must pass.</summary>
    public const string Promtool = "/usr/bin/promtool";

    /// <summary>The directory holding the dotnet host, to bind-mount it into containers.</summary>
    public static string DotnetRoot
    {
        get
        {
            var fromEnvironment = Environment.GetEnvironmentVariable("DOTNET_ROOT");
            if (!string.IsNullOrEmpty(fromEnvironment) && File.Exists(Path.Combine(fromEnvironment, "dotnet")))
            {
                return fromEnvironment;
            }

            var path = Environment.ProcessPath is { } process && Path.GetFileName(process) == "dotnet"
                ? process
                : Environment.GetEnvironmentVariable("PATH")!.Split(':').Select(d => Path.Combine(d, "dotnet")).First(File.Exists);
            return Path.GetDirectoryName(new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path)!;
        }
    }

    /// <summary>
    /// A loopback port for a test server to listen on, handed out once. Below the kernel's ephemeral range, where no
    /// outgoing connection takes its source port in the time between choosing and listening; and never twice, in this
    /// process or in another test run on the machine at the same time (a lock file per port, held until the process
    /// ends: .NET takes an advisory lock for <see cref="FileShare.None"/>).
    /// </summary>
    public static int FreePort()
    {
        lock (HeldPorts)
        {
            Directory.CreateDirectory(PortLocks);
            for (var attempt = 0; attempt < 10_000; attempt++)
            {
                var port = Random.Shared.Next(FirstPort, EphemeralPorts.First);
                if (HeldPorts.ContainsKey(port))
                {
                    continue;
                }

                FileStream held;
                try
                {
                    held = new FileStream(Path.Combine(PortLocks, $"{port}.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                }
                catch (IOException)
                {
                    continue;
                }

                if (!CanListen(port))
                {
                    held.Dispose();
                    continue;
                }

                HeldPorts[port] = held;
                return port;
            }
        }

        throw new InvalidOperationException($"No free port between {FirstPort} and {EphemeralPorts.First}.");
    }

    private const int FirstPort = 15_000;
    private static readonly string PortLocks = Path.Combine(Path.GetTempPath(), "sparkcontrol-test-ports");
    private static readonly Dictionary<int, FileStream> HeldPorts = [];

    /// <summary>The kernel's range for outgoing connections' source ports.</summary>
    private static readonly (int First, int Last) EphemeralPorts = ReadEphemeralPorts();

    private static (int First, int Last) ReadEphemeralPorts()
    {
        var parts = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        return (int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    private static bool CanListen(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public static async Task<bool> AcceptsConnectionsAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The repository root (the directory holding SparkControl.sln).</summary>
    public static string RepositoryRoot
    {
        get
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "SparkControl.sln")))
            {
                directory = directory.Parent;
            }

            return directory?.FullName ?? throw new InvalidOperationException("SparkControl.sln not found above the test output.");
        }
    }

    /// <summary>Where tests put files worth keeping (screenshots): TestResults/artifacts under the repository.</summary>
    public static string ArtifactsDirectory
    {
        get
        {
            var path = Path.Combine(RepositoryRoot, "TestResults", "artifacts");
            Directory.CreateDirectory(path);
            return path;
        }
    }
}
