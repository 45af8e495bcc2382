# Open MPI settings for runs on one machine (a laptop, a workstation, CI), sourced by jobs/quickstart, the tests and
# the benchmarks. Each is a default: a value already in the environment wins. Leave them unset on a cluster, where the
# site's settings choose the network and where Open MPI needs the PCI tree to find the nearest network card.
# - pml ob1, btl self,vader: shared-memory transports only. Probing the network transports (UCX) otherwise adds
#   0.2-0.5 s to every start, a singleton's too.
# - PMIx's hash store instead of its shared-memory segments, and hwloc without PCI discovery (HWLOC_COMPONENTS): on
#   this 2-core VM, MPI_Init + MPI_Finalize under mpiexec took 214-249 ms with them and 146-150 ms without
#   (15 interleaved runs each). Neither changes a computed number.
export OMPI_MCA_pml=${OMPI_MCA_pml:-ob1} OMPI_MCA_btl=${OMPI_MCA_btl:-self,vader}
export PMIX_MCA_gds=${PMIX_MCA_gds:-hash} HWLOC_COMPONENTS=${HWLOC_COMPONENTS:--pci,-linuxio}
