
namespace SparkControl.Core.Hosts;

/// <summary>
/// The seam between orchestration and one machine. <c>DockerSparkHost</c> does it with commands over SSH,
/// <c>SimulatedSparkHost</c> in process; code above this interface cannot tell them apart.
/// </summary>
public interface ISparkHost
{
    /// <summary>The Spark's name as configured (e.g. <c>spark-1</c>, or <c>demo</c>).</summary>
    string Name { get; }

    Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(CancellationToken cancellationToken);

    /// <summary>The container's state and limits, or null when no container has that name or id.</summary>
    Task<ContainerInfo?> InspectContainerAsync(string container, CancellationToken cancellationToken);

    /// <summary>Starts a detached container as <paramref name="launch"/> says and returns its id.</summary>
    Task<string> RunContainerAsync(ContainerLaunch launch, CancellationToken cancellationToken);

    /// <summary>Starts an existing, stopped container.</summary>
    Task StartContainerAsync(string container, CancellationToken cancellationToken);

    /// <summary>Stops a container, killing it after <paramref name="grace"/>.</summary>
    Task StopContainerAsync(string container, TimeSpan grace, CancellationToken cancellationToken);

    Task RemoveContainerAsync(string container, CancellationToken cancellationToken);

    Task<IReadOnlyList<string>> GetLogsAsync(string container, LogQuery query, CancellationToken cancellationToken);

    /// <summary>Log lines as they are written, until cancelled or the container's log ends.</summary>
    IAsyncEnumerable<string> FollowLogsAsync(string container, LogQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// A container's last <paramref name="tail"/> lines and then its live ones, for a viewer (a log page, an API
    /// client). A host whose streams are scarce shares one follower per container between all its viewers.
    /// </summary>
    IAsyncEnumerable<string> WatchLogsAsync(string container, int tail, CancellationToken cancellationToken) =>
        FollowLogsAsync(container, new LogQuery(tail), cancellationToken);

    /// <summary>GPU samples as the GPU reports them, one per GPU per sample period, until cancelled.</summary>
    IAsyncEnumerable<GpuSample> WatchGpuAsync(CancellationToken cancellationToken);

    /// <summary>Processes holding GPU memory (per-process memory is reported even on GB10).</summary>
    Task<IReadOnlyList<GpuComputeApp>> GetComputeAppsAsync(CancellationToken cancellationToken);

    /// <summary>Unified memory from <c>/proc/meminfo</c>.</summary>
    Task<MemoryInfo> GetMemoryInfoAsync(CancellationToken cancellationToken);

    /// <summary>Apparent size in bytes of everything under <paramref name="path"/>, following symlinks; null when absent.</summary>
    Task<long?> GetDiskUsageAsync(string path, CancellationToken cancellationToken);

    /// <summary>Free space of the file system holding <paramref name="path"/>; null when the path does not exist.</summary>
    Task<DiskSpace?> GetDiskSpaceAsync(string path, CancellationToken cancellationToken);

    Task<bool> PathExistsAsync(string path, CancellationToken cancellationToken);

    /// <summary>The canonical path with every symlink resolved (<c>realpath -e</c>); null when it does not exist.</summary>
    Task<string?> RealPathAsync(string path, CancellationToken cancellationToken);

    /// <summary>The entries of a directory (not recursive); empty when it does not exist.</summary>
    Task<IReadOnlyList<DirectoryEntry>> ListDirectoryAsync(string path, CancellationToken cancellationToken);

    /// <summary>At most <paramref name="maxBytes"/> of a small text file; null when it does not exist.</summary>
    Task<string?> ReadFileAsync(string path, int maxBytes, CancellationToken cancellationToken);

    /// <summary>
    /// <c>rm -rf</c> of exactly <c>hubPath/folder</c>: one model folder of the Spark's Hugging Face cache (the weights
    /// cleanup). <paramref name="hubPath"/> is absolute, <paramref name="folder"/> passes <c>Validators.HfCacheFolder</c>.
    /// A host that cannot delete says so rather than pretending.
    /// </summary>
    Task RemoveHfCacheFolderAsync(string hubPath, string folder, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{Name} cannot remove cache folders.");

    /// <summary>Replaces a leading <c>~</c> with the login user's home directory on the Spark.</summary>
    Task<string> ExpandHomeAsync(string path, CancellationToken cancellationToken);

    /// <summary><c>docker update --memory X --memory-swap Y</c> on a running container.</summary>
    Task UpdateMemoryLimitAsync(string container, long memoryBytes, long swapBytes, CancellationToken cancellationToken);

    /// <summary>Writes <paramref name="variables"/> to a 0600 env file on the Spark (over stdin) and returns its path.</summary>
    Task<string> WriteSecretsEnvFileAsync(IReadOnlyDictionary<string, string> variables, CancellationToken cancellationToken);

    /// <summary>Removes the env file once <c>docker run</c> has read it (the container keeps its copy of the values).</summary>
    Task RemoveSecretsEnvFileAsync(CancellationToken cancellationToken);

    /// <summary><c>docker login REGISTRY --username USER --password-stdin</c>, the password on stdin.</summary>
    Task RegistryLoginAsync(string registry, string username, string password, CancellationToken cancellationToken);

    /// <summary>
    /// What pulling <paramref name="image"/> would fetch for this Spark's platform, read from its registry without pulling
    /// (after <see cref="RegistryLoginAsync"/> for a private one), and the free space it would fill.
    /// </summary>
    Task<RemoteImage> InspectRemoteImageAsync(string image, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{Name} cannot read image manifests.");

    /// <summary><c>docker pull</c>, reporting layers as they finish; the last update is <see cref="PullProgress.Completed"/>.</summary>
    IAsyncEnumerable<PullProgress> PullImageAsync(string image, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{Name} cannot pull images.");

    /// <summary>
    /// Copies the directory <paramref name="source"/> to <paramref name="targetPath"/> on the machine this Spark reaches as
    /// <paramref name="targetHost"/> (the other Spark, over their own link), with rsync over SSH from this Spark.
    /// </summary>
    Task CopyDirectoryAsync(string source, string targetHost, string targetPath, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{Name} cannot copy directories.");

    /// <summary>Downloads a Hugging Face repo into the Spark's cache, reporting bytes on disk as they grow.</summary>
    IAsyncEnumerable<DownloadProgress> DownloadModelAsync(HfDownload download, CancellationToken cancellationToken);

    /// <summary>launch-cluster.sh status, read from docker on each node.</summary>
    Task<ClusterState> LaunchClusterStatusAsync(Hosts.LaunchClusterSettings settings, CancellationToken cancellationToken);

    /// <summary>Stops any cluster container with the same flags, then starts detached and execs the serve command.</summary>
    Task LaunchClusterStartAsync(ClusterLaunch launch, CancellationToken cancellationToken);

    Task LaunchClusterStopAsync(Hosts.LaunchClusterSettings settings, CancellationToken cancellationToken);

    /// <summary>Whether the login user may run commands as root without a password (<c>sudo -n true</c>).</summary>
    Task<bool> HasPasswordlessSudoAsync(CancellationToken cancellationToken);

    /// <summary>Runs a short host action (reboot) and streams its output; it ends with the stream.</summary>
    IAsyncEnumerable<string> RunHostActionAsync(HostAction action, CancellationToken cancellationToken);

    /// <summary>
    /// Starts a long host action (apt-get) detached on the Spark, with its output in a log file there: it runs to its
    /// end whoever watches. Refused (<see cref="HostActionRefusedException"/>) while another one runs.
    /// </summary>
    Task StartHostActionAsync(HostAction action, CancellationToken cancellationToken);

    /// <summary>The current or last detached host action, or null when none has run.</summary>
    Task<HostActionState?> GetHostActionStateAsync(CancellationToken cancellationToken);

    /// <summary>The detached host action's output from its first line, until the action has ended.</summary>
    IAsyncEnumerable<string> FollowHostActionAsync(CancellationToken cancellationToken);

    /// <summary>Runs a read-only update check (apt-get -s, fwupdmgr get-updates) and returns how it ended, exit status included.</summary>
    Task<HostCheckOutput> RunHostCheckAsync(HostCheck check, CancellationToken cancellationToken);

    /// <summary>OS, kernel, driver, CUDA and Docker versions and uptime.</summary>
    Task<HostFacts> GetHostFactsAsync(CancellationToken cancellationToken);

    /// <summary>The base address a service listening on <paramref name="port"/> of this Spark answers on.</summary>
    Uri GetEndpoint(int port);
}
