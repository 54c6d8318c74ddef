// SPDX-License-Identifier: GPL-2.0
/* PCI interrupts (irq.rs). */

#include <linux/pci.h>

#include "glue.h"

/* Whether the device has MSI or MSI-X enabled (pci_dev_msi_enabled() is inline). */
bool rust_wq_pci_msi_enabled(struct pci_dev *pdev)
{
	return pci_dev_msi_enabled(pdev);
}
