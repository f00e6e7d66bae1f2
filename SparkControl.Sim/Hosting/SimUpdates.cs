using SparkControl.Core.Hosts;

namespace SparkControl.Sim.Hosting;

/// <summary>
/// What the demo Spark's apt-get and fwupdmgr say: a full-upgrade that would upgrade two packages and remove one, and
/// one firmware release pending, so the Host page's preview and counts have something to show.
/// </summary>
public static class SimUpdates
{
    public const string AptFullUpgradeSimulation = """
        NOTE: This is only a simulation!
              apt-get needs root privileges for real execution.
              Keep also in mind that locking is deactivated,
              so don't depend on the relevance to the real current situation!
        Reading package lists...
        Building dependency tree...
        Reading state information...
        Calculating upgrade...
        The following packages will be REMOVED:
          nvidia-container-toolkit-legacy
        The following packages will be upgraded:
          nvidia-container-toolkit nvidia-container-toolkit-base
        2 upgraded, 0 newly installed, 1 to remove and 0 not upgraded.
        Remv nvidia-container-toolkit-legacy [1.16.2-1]
        Inst nvidia-container-toolkit-base [1.17.7-1] (1.17.8-1 https://repo.download.nvidia.com/baseos/ubuntu/noble/arm64 noble/common [arm64])
        Inst nvidia-container-toolkit [1.17.7-1] (1.17.8-1 https://repo.download.nvidia.com/baseos/ubuntu/noble/arm64 noble/common [arm64])
        Conf nvidia-container-toolkit-base (1.17.8-1 https://repo.download.nvidia.com/baseos/ubuntu/noble/arm64 noble/common [arm64])
        Conf nvidia-container-toolkit (1.17.8-1 https://repo.download.nvidia.com/baseos/ubuntu/noble/arm64 noble/common [arm64])
        """;

    public const string FirmwareUpdatesJson = """
        {
          "Devices" : [
            {
              "Name" : "System Firmware",
              "DeviceId" : "6f1c6e3b9d1f4bd7c0b0f6a8d4e2b1a0c9f8e7d6",
              "Plugin" : "uefi_capsule",
              "Flags" : [ "internal", "updatable", "needs-reboot" ],
              "Vendor" : "NVIDIA",
              "Version" : "0x01000a00",
              "Releases" : [
                {
                  "Name" : "DGX Spark System Firmware",
                  "Summary" : "Firmware for the NVIDIA DGX Spark (simulated)",
                  "Version" : "0x01000b00",
                  "Vendor" : "NVIDIA"
                }
              ]
            }
          ]
        }
        """;

    public static HostCheckOutput Check(HostCheck check) => check switch
    {
        HostCheck.AptFullUpgradeSimulation => new(0, AptFullUpgradeSimulation, string.Empty),
        HostCheck.FirmwareUpdates => new(0, FirmwareUpdatesJson, string.Empty),
        _ => throw new ArgumentOutOfRangeException(nameof(check)),
    };

    public static readonly string[] FullUpgradeLines =
    [
        "Reading package lists... Done",
        "Building dependency tree... Done",
        "Calculating upgrade... Done",
        "The following packages will be REMOVED:",
        "  nvidia-container-toolkit-legacy",
        "2 upgraded, 0 newly installed, 1 to remove and 0 not upgraded.",
        "Removing nvidia-container-toolkit-legacy (1.16.2-1) ...",
        "Setting up nvidia-container-toolkit-base (1.17.8-1) ...",
        "Setting up nvidia-container-toolkit (1.17.8-1) ...",
        "(simulated: nothing was changed)",
    ];

    public static readonly string[] FirmwareUpdateLines =
    [
        "Downloading 0x01000b00 for System Firmware…",
        "Decompressing…",
        "Writing…",
        "Successfully installed firmware",
        "An update requires a reboot to complete.",
        "(simulated: nothing was changed)",
    ];
}
