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

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
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
